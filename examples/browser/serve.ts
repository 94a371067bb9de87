/**
 * A small static file server for the browser example, on localhost only.
 *
 *   node --import tsx examples/browser/serve.ts [--port N] [--no-build]
 *
 * builds gradstab's ESM build and the esbuild bundle into `.tmp/browser/` (see build.ts), serves the repository's
 * root with `/dist/` and `/examples/browser/build/` taken from those builds, and prints the two pages' addresses.
 * With `--no-build` it serves the repository as it is (run `npm run build` first for `dist/`; the bundle page then
 * needs `examples/browser/build/bundle.js`).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { buildExample, exampleMounts, repoRoot } from './build.js';

/** Content types by file extension; anything else is `application/octet-stream`. */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/** Options of {@link serve}. */
export interface ServeOptions {
  /** The directory served at `/`. Defaults to the repository's root. */
  readonly root?: string;
  /** URL path prefixes (`'/dist/'`) served from other directories; the longest matching prefix wins. */
  readonly mounts?: Readonly<Record<string, string>>;
  /** The port. Defaults to 0: a free one. */
  readonly port?: number;
}

/** A running server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * The file a URL path names, or undefined when it is outside the served directories. Paths with a segment that
 * starts with a dot (`.git`, `.tmp`) are refused unless a mount covers them.
 */
export function filePath(pathname: string, root: string, mounts: Readonly<Record<string, string>>): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0')) return undefined;
  const mount = Object.keys(mounts)
    .filter((prefix) => decoded.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  const base = resolve(mount === undefined ? root : (mounts[mount] as string));
  const rest = mount === undefined ? decoded : decoded.slice(mount.length);
  if (rest.split('/').some((segment) => segment.startsWith('.'))) return undefined;
  const file = resolve(join(base, rest));
  return file === base || file.startsWith(base + sep) ? file : undefined;
}

/** Starts the server on 127.0.0.1. */
export async function serve(options: ServeOptions = {}): Promise<StaticServer> {
  const root = options.root ?? repoRoot;
  const mounts = options.mounts ?? {};
  const server = createServer(async (req, res) => {
    const send = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed', { allow: 'GET, HEAD' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    let file = filePath(url.pathname, root, mounts);
    if (file === undefined) return send(404, 'not found');
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      // Relative URLs in a directory's index.html need the trailing slash.
      if (!url.pathname.endsWith('/')) return send(301, 'moved', { location: `${url.pathname}/${url.search}` });
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) return send(404, 'not found');
    res.writeHead(200, {
      'content-type': MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(info.size),
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') return res.end();
    // pipeline, not pipe: a read error (the file removed after stat, no permission) ends this response instead of
    // throwing in the server.
    pipeline(createReadStream(file), res).catch(() => res.destroy());
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((err) => (err ? fail(err) : done()));
      }),
  };
}

async function main(args: readonly string[]): Promise<void> {
  if (args.includes('--help')) {
    console.log('usage: node --import tsx examples/browser/serve.ts [--port N] [--no-build]');
    return;
  }
  const portArg = args.indexOf('--port');
  const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${port}`);
  let mounts: Record<string, string> = {};
  if (!args.includes('--no-build')) {
    const build = await buildExample();
    mounts = exampleMounts(build);
    console.log(
      `built gradstab's ESM build and the bundle (${(build.bundleBytes / 1e6).toFixed(1)} MB) into .tmp/browser`,
    );
  }
  const { origin } = await serve({ port, mounts });
  console.log(`import map page:     ${origin}/examples/browser/`);
  console.log(`esbuild bundle page: ${origin}/examples/browser/bundle.html`);
  console.log('Ctrl-C stops the server.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
