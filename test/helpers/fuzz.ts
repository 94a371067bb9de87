import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { GradStabError } from '../../src/index.js';

/**
 * The pieces of the property test of every public entry point (test/fuzz.test.ts): arbitrary JSON-like values,
 * values made fresh for each run (tensors, optimizers, models), and the property itself: a call returns a working
 * value or throws (rejects) a GradStabError naming the function called, leaks no tensor and leaves
 * Object.prototype alone.
 */

/**
 * Fixed, so that a failure reproduces; fast-check prints the seed and path of a counterexample. Explore others with
 * GRADSTAB_FUZZ_SEED=<n> (and more runs with GRADSTAB_FUZZ_RUNS=<n>).
 */
export const SEED = Number(process.env.GRADSTAB_FUZZ_SEED ?? 1013);
/** Runs per entry point: enough to reach every branch of an option parser, few enough for ~30 s in all. */
export const RUNS = Number(process.env.GRADSTAB_FUZZ_RUNS ?? 100);
/** Arguments every entry point gets, in every position, on top of the generated ones. */
const EXAMPLES: readonly unknown[] = [null, undefined, Number.NaN, -0, '', {}, []];

/** The longest an asynchronous entry point may take on one input. */
const TIMEOUT_MS = 5000;

/**
 * Something made fresh in each run, from inside the property (never shared between runs): a tensor, a variable, an
 * optimizer, a model. `make` registers what must be disposed after the run.
 */
export class Made<T = unknown> {
  constructor(
    readonly label: string,
    readonly make: (own: Owned) => T,
  ) {}
  [fc.toStringMethod](): string {
    return this.label;
  }
}

/** What a run made and must dispose at its end. */
export class Owned {
  private readonly items: { dispose(): unknown }[] = [];
  add<T extends { dispose(): unknown }>(item: T): T {
    this.items.push(item);
    return item;
  }
  disposeAll(): void {
    for (const item of this.items.reverse()) {
      try {
        item.dispose();
      } catch {
        // already disposed with what owned it
      }
    }
  }
}

/** A variable of ones, leaving no other tensor behind (`tf.variable` keeps its initial value's tensor alive). */
export function onesVariable(shape: number[], name?: string): tf.Variable {
  const init = tf.ones(shape);
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}

let counter = 0;
/** A name no other live variable has. */
export const uniqueName = (prefix = 'fuzz'): string => `${prefix}_${counter++}`;

export const tensorOf = (
  shape: number[],
  dtype: 'float32' | 'int32' | 'bool' = 'float32',
  fill = 1.5,
): Made<tf.Tensor> =>
  new Made(`tensor(${dtype}[${shape}])`, (own) => own.add(tf.fill(shape, dtype === 'bool' ? 1 : fill, dtype)));

/** A small float32 tensor (or an int32 or a bool one) of rank 0 to 3, possibly empty. */
export const tensorArb: fc.Arbitrary<Made<tf.Tensor>> = fc
  .tuple(
    fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    fc.constantFrom('float32', 'float32', 'float32', 'int32', 'bool') as fc.Arbitrary<'float32' | 'int32' | 'bool'>,
    fc.constantFrom(1.5, -2, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e30),
  )
  .map(([shape, dtype, fill]) => tensorOf(shape, dtype, fill));

const specialNumbers = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0,
  -0,
  1,
  -1,
  0.5,
  2,
  3,
  10,
  100,
  1.5,
  0.99,
  1e-46,
  -1e-46,
  5e-324,
  1e-39,
  1e-7,
  1e7,
  1e12,
  2 ** 40,
  1e39,
  -1e39,
  1e200,
  -1e200,
  Number.MAX_VALUE,
];
export const numberArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...specialNumbers),
  fc.double(),
  fc.integer({ min: -5, max: 50 }),
);

const specialStrings = [
  '',
  'abc',
  'inf',
  'nan',
  'Infinity',
  '__proto__',
  'constructor',
  'toString',
  'prototype',
  'relu',
  'leakyRelu',
  'leaky_relu',
  'tanh',
  'selu',
  'fanIn',
  'fan_in',
  'fanAvg',
  'normal',
  'uniform',
  'truncatedNormal',
  'tfjs',
  'pytorch',
  'depthwise',
  'float32',
  'int32',
  'int33',
  'zeros',
  'nope',
  'Dense',
  'SGD',
  'Adam',
  'clipByValue',
  'chain',
  'head',
  '%5F',
  '(',
  'vanishing',
  'nonFinite',
  '\u0000',
];
export const stringArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...specialStrings),
  fc.string({ maxLength: 6 }),
);

const leafArb: fc.Arbitrary<unknown> = fc.oneof(numberArb, stringArb, fc.boolean(), fc.constantFrom(null, undefined));

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'name', 'kind', 'config', 'a'),
  fc.string({ maxLength: 4 }),
);

/** An array with holes (`new Array(n)`). */
const holesArb = fc.integer({ min: 1, max: 3 }).map((n) => new Array(n));

/** An object that contains itself, fresh each time. */
const selfArb = fc.constantFrom('self', 'config', 'transforms').map((key) => {
  const o: Record<string, unknown> = { a: 1 };
  o[key] = key === 'transforms' ? [o] : o;
  return o;
});

/** An object built with own keys (so that `__proto__` stays a key, as JSON.parse makes it). */
export function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  return Object.fromEntries(entries);
}

/** Arbitrary JSON-like values, with the nasty ones over-represented. */
export const anyArb: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    leafArb,
    leafArb,
    tie('array'),
    tie('object'),
    holesArb,
    selfArb,
  ),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 3 }).map(objectOf),
})).value;

/** One of the given (usually plausible) values three times in four, else an arbitrary value. */
export const or = (...arbs: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: fc.oneof(...arbs), weight: 3 }, { arbitrary: anyArb, weight: 1 });

/**
 * Options objects for an entry point: any subset of its keys, each with a plausible or an arbitrary value, now and
 * then with a misspelt key; or an arbitrary value.
 */
export function optionsArb(keys: Readonly<Record<string, fc.Arbitrary<unknown>>>): fc.Arbitrary<unknown> {
  const fields = Object.fromEntries(
    Object.entries(keys).map(([k, arb]) => [
      k,
      fc.oneof({ arbitrary: arb, weight: 5 }, { arbitrary: anyArb, weight: 1 }),
    ]),
  );
  const record = fc.record(fields, { requiredKeys: [] });
  const withTypo = fc.tuple(record, keyArb, anyArb).map(([r, k, v]) => objectOf([...Object.entries(r), [k, v]]));
  return fc.oneof(
    { arbitrary: record, weight: 6 },
    { arbitrary: withTypo, weight: 1 },
    { arbitrary: anyArb, weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 2 },
  );
}

/** A copy of `value` with every {@link Made} made: holes, own `__proto__` keys and cycles are kept. */
export function materialize(value: unknown, own: Owned, memo = new Map<object, unknown>()): unknown {
  if (value instanceof Made) return value.make(own);
  if (value === null || typeof value !== 'object') return value;
  const seen = memo.get(value);
  if (seen !== undefined) return seen;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    memo.set(value, copy);
    for (let i = 0; i < value.length; i++) if (i in value) copy[i] = materialize(value[i], own, memo);
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy = Object.create(proto) as Record<string, unknown>;
  memo.set(value, copy);
  for (const key of Object.keys(value)) {
    const v = materialize((value as Record<string, unknown>)[key], own, memo);
    Object.defineProperty(copy, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** Disposes what a call returned: tensors, and objects with a dispose method, anywhere in plain data. */
export function disposeResult(value: unknown, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    value.dispose();
    return;
  }
  if (value instanceof tf.layers.Layer) {
    if (value.built) value.dispose();
    return;
  }
  const d = (value as { dispose?: unknown }).dispose;
  if (typeof d === 'function') {
    d.call(value);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value) || proto === Object.prototype || proto === null) {
    for (const v of Object.values(value)) disposeResult(v, seen);
  }
}

function prototypeSnapshot(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).map((k) => {
    const d = Object.getOwnPropertyDescriptor(Object.prototype, k);
    return `${k}:${typeof d?.value}:${String(d?.value === undefined ? d?.get : d.value)}`;
  });
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Asserts `err` is a GradStabError in the house format whose message starts with one of `names`. */
export function expectGradStabError(err: unknown, names: readonly string[]): void {
  if (!(err instanceof GradStabError)) {
    const e = err as Error | undefined;
    throw new Error(`expected a GradStabError, got ${e?.name ?? typeof err}: ${e?.message}\n${e?.stack ?? ''}`);
  }
  const named = names.some((n) => err.message.startsWith(`${n}:`) || err.message.startsWith(`${n} (`));
  if (!named) throw new Error(`the message must start with ${names.join(' or ')}, got: ${err.message}`);
  expect(err.message.endsWith('.'), err.message).toBe(true);
}

/** One public entry point under test. */
export interface Entry {
  /** Shown in the test's title. */
  readonly title: string;
  /** The names an error message may start with: the function called, or its documented name. */
  readonly names: readonly string[];
  /** The arguments, as values that may hold {@link Made} items. */
  readonly args: fc.Arbitrary<unknown[]>;
  /** Calls the entry point; `own` takes what the call needs disposed besides its result. */
  readonly call: (args: unknown[], own: Owned) => unknown;
  /** Returns a promise that rejects on bad input (never throws). */
  readonly async?: boolean;
  /** Checks that a returned value works (and disposes what the check makes). */
  readonly works?: (result: unknown, own: Owned) => unknown;
  /** Runs for this entry point, when not {@link RUNS}. */
  readonly runs?: number;
}

/** The property: a working result or a GradStabError naming the function, no leak, Object.prototype untouched. */
export async function checkEntry(entry: Entry): Promise<void> {
  let worked = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(entry.args, async (generated) => {
      const proto = prototypeSnapshot();
      const before = tf.memory().numTensors;
      const own = new Owned();
      try {
        const args = materialize(generated, own) as unknown[];
        let result: unknown;
        let error: unknown;
        let threw = false;
        try {
          const returned = entry.call(args, own);
          if (entry.async) {
            expect(returned, `${entry.title} must return a promise`).toBeInstanceOf(Promise);
          }
          result = returned instanceof Promise ? await withTimeout(returned, entry.title) : returned;
        } catch (e) {
          threw = true;
          error = e;
        }
        if (threw) refused++;
        else worked++;
        if (threw) expectGradStabError(error, entry.names);
        else {
          try {
            await entry.works?.(result, own);
          } finally {
            disposeResult(result);
          }
        }
      } finally {
        own.disposeAll();
      }
      expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
      expect(prototypeSnapshot()).toEqual(proto);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }),
    {
      seed: SEED,
      numRuns: Math.min(entry.runs ?? RUNS, RUNS),
      endOnFailure: true,
      // Always tried, whatever the generators draw: null, undefined and other plain junk in every position.
      examples: EXAMPLES.map((value) => [[value, value, value, value]]),
    },
  );
  // GRADSTAB_FUZZ_STATS=1 shows how often each entry point's generators reach past its checks.
  if (process.env.GRADSTAB_FUZZ_STATS) console.log(`${entry.title}: ${worked} returned, ${refused} threw`);
}
