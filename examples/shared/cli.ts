/** The command line the examples share: its parser, the checks of flag values, and running `main` as a script. */
import { pathToFileURL } from 'node:url';
import { useBackend } from './backend.js';

/** A parsed command line: `'help'` for `--help`, else the backend asked for and the options. */
export type CommandLine<O> = 'help' | { backend: 'wasm' | 'cpu'; options: O };

/**
 * Reads `argv`: `--help` or `-h` gives `'help'`; `--backend wasm|cpu` (default wasm) is handled here; every other
 * flag must be a key of `flags`, whose function gets the flag's value (the next argument) and the options so far and
 * returns the new options. Anything else throws `unknown argument X (see --help)`. `prefix` (such as `'demo: '`) goes
 * in front of the errors thrown here.
 */
export function parseCommandLine<O>(
  argv: readonly string[],
  defaults: O,
  flags: Readonly<Record<string, (value: string | undefined, options: O) => O>>,
  prefix = '',
): CommandLine<O> {
  let backend: 'wasm' | 'cpu' = 'wasm';
  let options = defaults;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    const handle = Object.hasOwn(flags, flag) ? flags[flag] : undefined;
    if (flag === '--help' || flag === '-h') return 'help';
    if (flag === '--backend') backend = backendFlag(argv[++i], prefix);
    else if (handle) options = handle(argv[++i], options);
    else throw new Error(`${prefix}unknown argument ${flag} (see --help)`);
  }
  return { backend, options };
}

/**
 * The start of an example's `main`: for `'help'`, prints `usage` and returns `undefined`; else switches tfjs to the
 * backend asked for (see `useBackend`) and returns the backend in use with the options.
 */
export async function startExample<O>(
  args: CommandLine<O>,
  usage: string,
): Promise<{ backend: 'wasm' | 'cpu'; options: O } | undefined> {
  if (args === 'help') {
    console.log(usage);
    return undefined;
  }
  return { backend: await useBackend(args.backend), options: args.options };
}

/**
 * Runs `main` with the command-line arguments when the module at `moduleUrl` (pass `import.meta.url`) is the script
 * node was started with, not when it is imported (by a test, say). An error prints its message and exits with 1.
 */
export function runWhenExecuted(moduleUrl: string, main: (argv: readonly string[]) => Promise<void>): void {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

/** `--backend`'s value: wasm or cpu. */
function backendFlag(value: string | undefined, prefix = ''): 'wasm' | 'cpu' {
  if (value !== 'wasm' && value !== 'cpu') throw new Error(`${prefix}--backend must be wasm or cpu, got ${value}`);
  return value;
}

/** A whole-number flag's value in [min, max]. */
export function wholeFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = Number.isFinite(max) ? `in [${min}, ${max}]` : `>= ${min}`;
    throw new Error(`${flag} needs a whole number ${range}, got ${value}`);
  }
  return n;
}
