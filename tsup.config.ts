import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2020',
  // tfjs is a peer: bundling a second copy would create a second engine and class registry.
  external: [/^@tensorflow\//],
});
