import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url));
/** Where the package tests build their throw-away projects (git-ignored; GRADSTAB_PACKAGE_TMP moves it). */
export const workRoot = process.env.GRADSTAB_PACKAGE_TMP ?? join(root, '.tmp', 'package');

const run = promisify(execFile);

/** The versions of the repository's own dev dependencies, so that consumer projects install from the npm cache. */
export function devVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const version = pkg.devDependencies[name];
  if (!version) throw new Error(`package.json has no devDependency ${name}`);
  return version;
}

/** Output of a command; throws with both streams when it fails. */
export async function sh(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    );
  }
}

/** Newest modification time of any file under `dir`. */
function newestIn(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = statSync(path);
    newest = Math.max(newest, stat.isDirectory() ? newestIn(path) : stat.mtimeMs);
  }
  return newest;
}

/**
 * The packed tarball of the package as `npm publish` would upload it. Builds first unless dist/ is newer than every
 * source file and the package manifest (CI builds just before the tests; a stale dist must never be tested).
 */
export async function packTarball(): Promise<string> {
  const built = join(root, 'dist', 'index.d.cts');
  const sources = Math.max(newestIn(join(root, 'src')), statSync(join(root, 'package.json')).mtimeMs);
  if (!existsSync(built) || statSync(built).mtimeMs < sources) await sh('npm', ['run', 'build'], root);
  const out = join(workRoot, 'tarball');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const { stdout } = await sh('npm', ['pack', '--silent', '--pack-destination', out], root);
  const name = stdout.trim().split('\n').pop() as string;
  return join(out, name);
}

/**
 * A fresh npm project in `dir` with `dependencies` installed (`npm install`, as a user would), or the one already
 * there when its manifest asked for exactly these (the tarball is compared by content hash, so a rebuilt package is
 * reinstalled).
 */
export async function installProject(dir: string, dependencies: Readonly<Record<string, string>>): Promise<string> {
  const manifest = { name: 'consumer', version: '1.0.0', private: true, dependencies };
  const stamp = JSON.stringify({ manifest, tarballs: tarballDigests(dependencies) });
  const stampFile = join(dir, '.installed');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // Tools look for the nearest tsconfig.json; without this one they would find the repository's, whose `paths` map
  // 'gradstab' to src/ (esbuild bundles src then, not the installed package).
  writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
  await sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts'], dir);
  writeFileSync(stampFile, stamp);
  return dir;
}

function tarballDigests(dependencies: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of Object.values(dependencies)) {
    if (spec.startsWith('file:')) {
      out[spec] = createHash('sha256')
        .update(readFileSync(spec.slice('file:'.length)))
        .digest('hex');
    }
  }
  return out;
}

/** Every installed copy of `pkg` under `dir`'s node_modules: its path and version. */
export function installedCopies(dir: string, pkg: string): { path: string; version: string }[] {
  const found: { path: string; version: string }[] = [];
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      const names = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`)
        : entry.startsWith('.')
          ? []
          : [entry];
      for (const name of names) {
        const path = join(modules, name);
        if (name === pkg) {
          const { version } = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { version: string };
          found.push({ path, version });
        }
        visit(join(path, 'node_modules'));
      }
    }
  };
  visit(join(dir, 'node_modules'));
  return found;
}

/** The dependencies of the consumer project most package tests share: the tarball next to the repository's tfjs. */
export function mainConsumerDependencies(tarball: string): Record<string, string> {
  return {
    gradstab: `file:${tarball}`,
    '@tensorflow/tfjs': devVersion('@tensorflow/tfjs'),
    vega: devVersion('vega'),
    'vega-lite': devVersion('vega-lite'),
    '@types/node': devVersion('@types/node'),
  };
}

/** Copies test/package/scripts/<names> into `dir`. */
export function copyScripts(dir: string, ...names: string[]): void {
  for (const name of names) copyFileSync(join(root, 'test', 'package', 'scripts', name), join(dir, name));
}

/** Runs `node <script>` in `dir` and parses the JSON its last line of output holds. */
export async function runJson<T>(dir: string, script: string): Promise<T> {
  const { stdout } = await sh(process.execPath, [script], dir);
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${script} printed no JSON result:\n${stdout}`);
  }
}
