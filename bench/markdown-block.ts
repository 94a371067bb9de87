import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Replaces the text between `<!-- bench:<id>:start -->` and `<!-- bench:<id>:end -->` in a markdown file with
 * `block` (which holds the markers), or appends the block when the markers are missing; the rest of the file is left
 * as it is.
 */
export function writeBlock(file: string, id: string, block: string): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}
