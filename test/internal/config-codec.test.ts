import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeConfig, encodeConfig } from '../../src/internal/config-codec.js';

/** What tfjs does to a training config on load (tfjs-layers convertPythonicToTs), for the parts that matter here. */
function tfjsLoadMangling(value: unknown): unknown {
  const camel = (s: string) => (s.includes('_') ? s.replace(/[_]+(\w|$)/g, (_, c: string) => c.toUpperCase()) : s);
  if (typeof value === 'string') return camel(value);
  if (Array.isArray(value)) return value.map(tfjsLoadMangling);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), tfjsLoadMangling(v)]));
  }
  return value;
}

const roundTrip = (value: unknown) =>
  decodeConfig(tfjsLoadMangling(JSON.parse(JSON.stringify(encodeConfig('t', value)))));

describe('config codec', () => {
  it('survives JSON and tfjs’s camelCasing: non-finite numbers, underscores, percent signs', () => {
    const config = {
      max_norm: Number.POSITIVE_INFINITY,
      min: Number.NEGATIVE_INFINITY,
      nan: Number.NaN,
      mode: 'fan_in',
      odd: '%5F_%25',
      ['__proto__']: { stays: 'a key' },
      list: [1, 'a_b', null, true, { deep_key: -0.5 }],
    };
    expect(roundTrip(config)).toEqual(config);
  });

  it('round-trips any JSON-like value (property)', () => {
    const value = fc.letrec((tie) => ({
      // -0 is the one number JSON cannot keep (it comes back as 0); configs never depend on the sign of zero.
      leaf: fc.oneof(
        fc.double().filter((x) => !Object.is(x, -0)),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
      ),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(roundTrip(v)).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it('drops undefined object values (an undefined crashes tfjs’s in-memory load) and rejects non-data', () => {
    expect(encodeConfig('t', { a: undefined, b: 1 })).toEqual({ b: 1 });
    expect(() => encodeConfig('transformToConfig', { re: /x/ })).toThrow(
      'transformToConfig: config values must be numbers, strings, booleans, null, arrays or plain objects, got an instance of RegExp.',
    );
    expect(() => encodeConfig('t', { f: () => 1 })).toThrow('got a function (f).');
  });
});

describe('config codec: corrupt or cyclic configs are GradStabErrors (issue 13)', () => {
  it('refuses a config that contains itself, or nests deeper than 64 levels, both ways', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.list = [cyclic];
    expect(() => encodeConfig('t', cyclic)).toThrow(
      't: a config must not contain itself, got an object that contains itself.',
    );
    expect(() => decodeConfig(cyclic, 't')).toThrow(
      't: a config must not contain itself, got an object that contains itself.',
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => encodeConfig('t', deep)).toThrow(
      't: a config must not nest more than 64 levels deep, got a deeper object.',
    );
    expect(() => decodeConfig(deep, 't')).toThrow(
      't: a config must not nest more than 64 levels deep, got a deeper object.',
    );
    const shared = { a: 1 };
    expect(encodeConfig('t', { x: shared, y: shared })).toEqual({ x: { a: 1 }, y: { a: 1 } }); // shared, not cyclic
  });

  it('writes a hole as null, as JSON does, and refuses an unknown non-finite marker', () => {
    expect(encodeConfig('t', new Array(2))).toEqual([null, null]);
    expect(() => decodeConfig({ $nonFinite: 'bogus' }, 't')).toThrow(
      "t: a {$nonFinite} marker must hold 'inf', '-inf' or 'nan', got \"bogus\".",
    );
  });
});
