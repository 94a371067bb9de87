/**
 * The layer a variable belongs to: its name without the last path segment (`dense_3/kernel` -> `dense_3`,
 * `model/conv_1/bias` -> `model/conv_1`); a name without `/` is its own layer.
 */
export function defaultLayerOf(variableName: string): string {
  const cut = variableName.lastIndexOf('/');
  return cut <= 0 ? variableName : variableName.slice(0, cut);
}

/** Variable names grouped by layer, layers in the order their first variable appears (the model's order). */
export interface LayerGroups {
  readonly layers: readonly string[];
  /** For each layer (same order), the names of its variables. */
  readonly members: readonly (readonly string[])[];
  /** For each name (in the order given), the index of its layer. */
  readonly layerIndex: readonly number[];
}

/** Groups `names` by `layerOf`, keeping first-appearance order. */
export function groupByLayer(names: readonly string[], layerOf: (name: string) => string): LayerGroups {
  const index = new Map<string, string[]>();
  const position = new Map<string, number>();
  const layerIndex = names.map((name) => {
    const layer = layerOf(name);
    const list = index.get(layer);
    if (list) list.push(name);
    else {
      index.set(layer, [name]);
      position.set(layer, position.size);
    }
    return position.get(layer) as number;
  });
  return { layers: [...index.keys()], members: [...index.values()], layerIndex };
}
