import type { Tensor } from '@tensorflow/tfjs-core';

/** Disposes the tensors of `previous` that `next` does not hold any more (by identity: state may be reused). */
export function disposeReplaced(
  previous: Readonly<Record<string, Tensor | null | undefined>>,
  next: Readonly<Record<string, Tensor | null | undefined>>,
): void {
  const kept = new Set<Tensor>();
  for (const t of Object.values(next)) if (t) kept.add(t);
  for (const t of Object.values(previous)) if (t && !kept.has(t)) t.dispose();
}
