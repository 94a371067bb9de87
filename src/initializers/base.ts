import * as tfl from '@tensorflow/tfjs-layers';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers';

/**
 * tfjs-layers' `Initializer` base class. It is not exported by the package's index, and `getInitializer` accepts
 * an object only if it is an `instanceof` it, so it is taken from a built-in initializer's prototype chain (a deep
 * import would break the CommonJS build, whose tfjs-layers entry is a single bundle).
 */
export const InitializerBase = Object.getPrototypeOf(tfl.initializers.zeros().constructor) as typeof Initializer;

export type { Initializer };

/** The keys of a saved config that are ours: tfjs adds `customObjects`, and a missing value comes back as null. */
export function ownConfig(config: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== null && keys.includes(k)));
}
