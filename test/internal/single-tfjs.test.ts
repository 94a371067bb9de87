import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GradStabError } from '../../src/index.js';
import { assertSingleTfjs, duplicateTfjsMessage, tfjsCopies } from '../../src/internal/single-tfjs.js';
import { useCpu } from '../helpers/tf.js';

beforeAll(useCpu);

const cache = (createRequire(import.meta.url)('node:module') as { _cache: Record<string, unknown> })._cache;
const globals = (globalThis as unknown as { _tfGlobals: Map<string, unknown> })._tfGlobals;
const undo: (() => void)[] = [];
afterEach(() => {
  for (const f of undo.splice(0)) f();
});

/** What every copy of tfjs-core does as it loads: it sets the platform (the trigger of a new full check). */
function replacePlatform(): void {
  const env = tf.env() as unknown as { platform: object };
  const ours = env.platform;
  env.platform = Object.create(ours);
  undo.push(() => {
    env.platform = ours;
  });
}

/** Pretends another copy of tfjs-core (and of tfjs-layers) at `root` is in Node's module cache. */
function fakeNodeCopy(root: string, version: string): void {
  const core = `${root}/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js`;
  const layers = `${root}/node_modules/@tensorflow/tfjs-layers/dist/tf-layers.node.js`;
  cache[core] = { exports: { version_core: version, Tensor: class {} } };
  cache[layers] = { exports: { version_layers: version, Sequential: class {} } };
  undo.push(() => {
    delete cache[core];
    delete cache[layers];
  });
}

describe('one copy of tfjs', () => {
  it('finds the one copy gradstab uses, in Node’s module cache', () => {
    const { core, layers } = tfjsCopies();
    expect(core).toHaveLength(1);
    expect(core[0]).toMatchObject({ version: tf.version_core, ours: true });
    expect(core[0]?.path).toMatch(/node_modules\/@tensorflow\/tfjs-core$/);
    expect(layers).toHaveLength(1);
    expect(duplicateTfjsMessage('test')).toBeUndefined();
    expect(() => assertSingleTfjs('test')).not.toThrow();
  });

  it('names both copies, their folders and the install command that makes them one', () => {
    fakeNodeCopy('/app/node_modules/@tensorflow/tfjs', '4.10.0');
    const message = duplicateTfjsMessage('heNormal') as string;
    expect(message).toMatch(
      /^heNormal: gradstab must use the same copy of tfjs as your code, got 2 copies of @tensorflow\/tfjs-core are loaded: /,
    );
    expect(message).toContain('4.10.0 at /app/node_modules/@tensorflow/tfjs/node_modules/@tensorflow/tfjs-core');
    expect(message).toContain(`${tf.version_core} at `);
    expect(message).toContain('(gradstab’s)');
    expect(message).toContain('2 copies of @tensorflow/tfjs-layers are loaded');
    expect(message).toContain('npm install @tensorflow/tfjs-core@4.10.0 @tensorflow/tfjs-layers@4.10.0');
    expect(() => assertSingleTfjs('heNormal')).not.toThrow(); // nothing loaded since the last check, as far as it knows
    replacePlatform();
    expect(() => assertSingleTfjs('heNormal')).toThrow(new GradStabError(message));
  });

  it('without a module cache (browsers, bundles): the first copy’s Tensor class in tfjs’s globals tells', () => {
    const ours = globals.get('Tensor');
    globals.set('Tensor', class {});
    undo.push(() => globals.set('Tensor', ours));
    const message = duplicateTfjsMessage('layers.reLU') as string;
    expect(message).toContain('2 copies of @tensorflow/tfjs-core are loaded: ');
    expect(message).toContain('(gradstab’s); another copy, whose version and location are not visible here. ');
    expect(message).toContain('npm dedupe');
    replacePlatform();
    expect(() => assertSingleTfjs('layers.reLU')).toThrow(new GradStabError(message));
  });

  it('a second tfjs-layers registering its classes over gradstab’s tells too', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    const ours = map.Sequential;
    map.Sequential = [class {} as never, (() => {}) as never];
    undo.push(() => {
      map.Sequential = ours as NonNullable<typeof ours>;
    });
    expect(duplicateTfjsMessage('orthogonal')).toContain('2 copies of @tensorflow/tfjs-layers are loaded');
    expect(() => assertSingleTfjs('orthogonal')).toThrow(GradStabError);
  });
});
