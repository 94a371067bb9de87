import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `examples/<file>` as a script (`node --import tsx`) from the repository root: exit status, stdout, stderr. */
export function spawnExampleScript(file: string, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], { cwd: root, encoding: 'utf8' });
}

/** {@link spawnExampleScript}'s stdout; throws with its stderr when it exits with an error. */
export function runExampleScript(file: string, ...args: string[]): string {
  const run = spawnExampleScript(file, ...args);
  if (run.status !== 0) throw new Error(`examples/${file} exited with ${run.status}: ${run.stderr}`);
  return run.stdout;
}
