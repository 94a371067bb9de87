import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/package/**'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // The tfjs engine is a process-wide singleton; forks keep test files isolated from each other.
          pool: 'forks',
          // Type tests (`*.test-d.ts`, expectTypeOf) run through tsc against src/, beside the runtime tests.
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'package',
          // What users install: the packed tarball in fresh npm projects (needs the npm registry).
          include: ['test/package/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/package/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          pool: 'forks',
          // After the unit tests: both compete for the same two cores otherwise.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
