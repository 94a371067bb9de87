import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GradStabError } from '../errors.js';

/**
 * gradstab must run on the user's own copy of tfjs. With two copies of tfjs-core or tfjs-layers loaded (npm nests
 * a second one when an app pins `@tensorflow/tfjs` to one version and something else pulls another), they share
 * the engine but not the classes and registries: a gradstab layer is not a `tf.layers.Layer` to the user's copy, an
 * initializer fails with tfjs's "Improper config format", and saved models do not find gradstab's classes. This
 * finds a second copy and says which and how to fix it, instead.
 */

/** One loaded copy of a tfjs package. */
interface Copy {
  readonly version: string;
  /** Where it was loaded from (Node only). */
  readonly path?: string;
  /** Whether gradstab imports this one. */
  readonly ours: boolean;
}

type Exports = Record<string, unknown>;
type ModuleCache = Record<string, { exports?: Exports } | undefined>;

/** Node's module cache, where both CommonJS and ES-module imports of tfjs's CommonJS bundles land. */
function moduleCache(): ModuleCache | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const nodeModule = proc?.getBuiltinModule?.('node:module') as { _cache?: ModuleCache } | undefined;
  return nodeModule?._cache;
}

/** The copies of `pkg` in Node's module cache, told apart by their package folder. */
function loadedCopies(pkg: string, versionKey: string, isOurs: (exports: Exports) => boolean): Copy[] {
  const cache = moduleCache();
  if (!cache) return [];
  const copies = new Map<string, Copy>();
  const folder = new RegExp(`^(.*[\\\\/]${pkg.replace('/', '[\\\\/]')})[\\\\/]`);
  for (const [file, entry] of Object.entries(cache)) {
    const root = folder.exec(file)?.[1];
    const exports = entry?.exports;
    if (!root || !exports || typeof exports[versionKey] !== 'string') continue;
    const previous = copies.get(root);
    copies.set(root, { path: root, version: exports[versionKey] as string, ours: previous?.ours || isOurs(exports) });
  }
  return [...copies.values()];
}

/** How a copy known only by its traces (a browser, a bundle) is named. */
const UNSEEN = 'another copy, whose version and location are not visible here';

/** The copies of tfjs-core and tfjs-layers that are loaded, gradstab's own marked. */
export function tfjsCopies(): { core: Copy[]; layers: Copy[] } {
  const core = loadedCopies('@tensorflow/tfjs-core', 'version_core', (e) => e.Tensor === tf.Tensor);
  const layers = loadedCopies('@tensorflow/tfjs-layers', 'version_layers', (e) => e.Sequential === tfl.Sequential);
  // Anywhere (browsers and bundles too): tfjs-core keeps the Tensor class of the first copy loaded in a global,
  // and every copy of tfjs-layers registers its classes with the registry it shares with gradstab's.
  const firstTensor = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals?.get('Tensor');
  if (firstTensor !== undefined && firstTensor !== tf.Tensor && !core.some((c) => !c.ours)) {
    core.push({ version: UNSEEN, ours: false });
  }
  const registered = tf.serialization.SerializationMap.getMap().classNameMap.Sequential?.[0];
  if (registered !== undefined && registered !== tfl.Sequential && !layers.some((c) => !c.ours)) {
    layers.push({ version: UNSEEN, ours: false });
  }
  const ensureOurs = (copies: Copy[], version: string) => {
    if (!copies.some((c) => c.ours)) copies.push({ version, ours: true });
  };
  ensureOurs(core, tf.version_core);
  ensureOurs(layers, tfl.version_layers);
  return { core, layers };
}

function describeCopies(pkg: string, copies: readonly Copy[]): string {
  const list = copies.map((c) => `${c.version}${c.path ? ` at ${c.path}` : ''}${c.ours ? ' (gradstab’s)' : ''}`);
  return `${copies.length} copies of ${pkg} are loaded: ${list.join('; ')}`;
}

/** The message for a second copy, or undefined when there is one copy of each. */
export function duplicateTfjsMessage(fn: string, copies = tfjsCopies()): string | undefined {
  const problems = [
    ['@tensorflow/tfjs-core', copies.core],
    ['@tensorflow/tfjs-layers', copies.layers],
  ] as const;
  const found = problems.filter(([, c]) => c.length > 1);
  if (found.length === 0) return undefined;
  const theirs = found.flatMap(([, c]) => c.filter((x) => !x.ours).map((x) => x.version));
  const version = theirs.find((v) => v !== UNSEEN);
  const fix = version
    ? `Make npm install the versions your tfjs uses: npm install @tensorflow/tfjs-core@${version} ` +
      `@tensorflow/tfjs-layers@${version} (or upgrade @tensorflow/tfjs), then npm ls @tensorflow/tfjs-core lists one.`
    : 'Make your package manager or bundler resolve one copy (npm ls @tensorflow/tfjs-core @tensorflow/tfjs-layers; ' +
      'npm dedupe), with @tensorflow/tfjs-core and @tensorflow/tfjs-layers at the version of your @tensorflow/tfjs.';
  return (
    `${fn}: gradstab must use the same copy of tfjs as your code, got ${found.map(([p, c]) => describeCopies(p, c)).join(', and ')}. ` +
    `Layers, initializers and saved models cannot cross between copies. ${fix}`
  );
}

let checkedPlatform: unknown;

/** True when nothing says another copy loaded since the last full check: every copy of tfjs-core sets the platform. */
function unchangedSinceCheck(): boolean {
  const platform = tf.env().platform;
  return (
    platform !== undefined &&
    platform === checkedPlatform &&
    tf.serialization.SerializationMap.getMap().classNameMap.Sequential?.[0] === tfl.Sequential
  );
}

/**
 * Throws a GradStabError when a second copy of tfjs-core or tfjs-layers is loaded. Cheap enough for every factory:
 * the full check runs again only when a copy may have loaded since.
 */
export function assertSingleTfjs(fn: string): void {
  if (unchangedSinceCheck()) return;
  const message = duplicateTfjsMessage(fn);
  if (message !== undefined) throw new GradStabError(message);
  checkedPlatform = tf.env().platform;
}

// The usual case, the app's tfjs loaded before gradstab, fails here, at `import 'gradstab'`; a copy loaded after
// gradstab fails at the first gradstab layer, initializer, optimizer wrapper or monitor made after it.
assertSingleTfjs("import 'gradstab'");
