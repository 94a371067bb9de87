import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { installProject, mainConsumerDependencies, packTarball, workRoot } from './project.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The packed package, as `npm publish` would upload it. */
    tarball: string;
    /** An npm project with the tarball installed next to the repository's @tensorflow/tfjs (and vega, @types/node). */
    consumer: string;
  }
}

/** Builds (when dist/ is stale) and packs the package once, and installs it once into the shared consumer project. */
export default async function setup(project: TestProject): Promise<void> {
  const tarball = await packTarball();
  project.provide('tarball', tarball);
  project.provide('consumer', await installProject(join(workRoot, 'consumer'), mainConsumerDependencies(tarball)));
}
