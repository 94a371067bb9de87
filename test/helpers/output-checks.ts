import { format, inspect } from 'node:util';

/**
 * The outputs written in documented programs, checked against what the programs print, so that an example cannot
 * drift from the code it documents:
 *
 * - `console.log(a, b); // 1 0`: the comment is what that call prints.
 * - a statement that prints on one line (a loop, say), followed by comment lines: those lines are what it prints, one
 *   line per call, in order; a comment line indented further (`//   more`) continues the one before.
 * - after the printed text the comment may go on with a remark, set off by `:` or `(`: `// true: the first of two`.
 * - a comment wholly in parentheses describes an output that varies from run to run instead of showing it
 *   (`// (the norm after clipping)`): it is not compared.
 *
 * Printed text and comment are compared token by token: numbers within 1e-4 relative (comments round), everything
 * else exactly but for whitespace and the quote character (`'x'` and `"x"`).
 */

/** A program with its printing statements wrapped in `__expectLogs` calls; throws when a comment cannot be checked. */
export function withOutputChecks(code: string, source: string): string {
  const lines = code.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.includes('console.log(')) {
      out.push(line);
      continue;
    }
    const trailing = /^(\s*)(.*;)\s*\/\/\s?(.*)$/.exec(line);
    const expected: string[] = [];
    let statement: string;
    let indent: string;
    if (trailing && !/['"`].*\/\/.*['"`]/.test(trailing[2] as string)) {
      indent = trailing[1] as string;
      statement = trailing[2] as string;
      expected.push((trailing[3] as string).trim());
    } else {
      indent = /^\s*/.exec(line)?.[0] ?? '';
      statement = line.trim();
      // Comment lines right after it: what it prints.
      while (i + 1 < lines.length && /^\s*\/\//.test(lines[i + 1] as string)) {
        const text = (lines[++i] as string).replace(/^\s*\/\/ ?/, '');
        if (/^\s{2,}/.test(text) && expected.length > 0) expected[expected.length - 1] += ` ${text.trim()}`;
        else expected.push(text.trim());
      }
    }
    if (expected.length === 0 || expected.every((e) => /^\(.*\)$/.test(e))) {
      out.push(line); // prints something the example makes no claim about, or only describes
      continue;
    }
    if (!/^(console\.log\(|for \(|for await \()/.test(statement) || !statement.endsWith(';')) {
      throw new Error(
        `${source}: an output comment must follow a statement that starts with console.log( or for ( on one line ` +
          `(so that its output can be checked), got: ${line.trim()}`,
      );
    }
    out.push(
      `${indent}await __expectLogs(async () => { ${statement} }, ${JSON.stringify(expected)}, ${JSON.stringify(`${source}:${i + 1}`)});`,
    );
  }
  return out.join('\n');
}

type Token = { number: number } | { text: string };

function tokens(s: string): Token[] {
  const out: Token[] = [];
  const re = /-?(?:\d+\.\d*|\.\d+|\d+)(?:e[+-]?\d+)?|NaN|-?Infinity/gi;
  let last = 0;
  const text = (t: string) => {
    const squeezed = t.replace(/\s+/g, '').replace(/"/g, "'");
    if (squeezed.length > 0) out.push({ text: squeezed });
  };
  for (const m of s.matchAll(re)) {
    // A number glued to letters before it is part of a name (`dense_Dense1`): keep it as text.
    if (m.index > 0 && /[A-Za-z_]/.test(s[m.index - 1] as string)) continue;
    text(s.slice(last, m.index));
    out.push({ number: Number(m[0]) });
    last = m.index + m[0].length;
  }
  text(s.slice(last));
  // Merge neighbouring text tokens (numbers skipped above leave text split).
  return out.reduce<Token[]>((acc, t) => {
    const prev = acc[acc.length - 1];
    if (prev && 'text' in prev && 'text' in t) prev.text += t.text;
    else acc.push(t);
    return acc;
  }, []);
}

function closeNumber(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= 1e-7 + 1e-4 * Math.abs(b);
}

/** Whether `printed` is what `expected` says (see the module's comment). */
export function matchesOutput(printed: string, expected: string): boolean {
  const p = tokens(printed);
  const e = tokens(expected);
  for (let i = 0; i < p.length; i++) {
    const pt = p[i] as Token;
    const et = e[i];
    if (et === undefined) return false;
    if ('number' in pt) {
      if (!('number' in et) || !closeNumber(pt.number, et.number)) return false;
    } else if (!('text' in et)) {
      return false;
    } else if (i === p.length - 1) {
      // The last printed text may be followed by a remark in the same expected text token.
      if (!et.text.startsWith(pt.text)) return false;
      const rest = et.text.slice(pt.text.length);
      return rest === '' || rest.startsWith(':') || rest.startsWith('(');
    } else if (pt.text !== et.text) {
      return false;
    }
  }
  const rest = e.slice(p.length);
  if (rest.length === 0) return true;
  const first = rest[0] as Token;
  return 'text' in first && (first.text.startsWith(':') || first.text.startsWith('('));
}

/** The ways a console.log call's arguments can be written down: as printed, and with strings quoted. */
function renderings(args: unknown[]): string[] {
  return [format(...args), args.map((a) => inspect(a, { depth: 4, breakLength: Number.POSITIVE_INFINITY })).join(' ')];
}

/** Runs `fn` capturing what it logs, and checks it against the expected lines. */
export async function expectLogs(fn: () => Promise<void>, expected: string[], where: string): Promise<void> {
  const printed: string[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    printed.push(renderings(args));
  };
  try {
    await fn();
  } finally {
    console.log = log;
  }
  const problems: string[] = [];
  if (printed.length !== expected.length) {
    problems.push(`printed ${printed.length} line(s), the comments say ${expected.length}`);
  }
  printed.forEach((options, i) => {
    const want = expected[i];
    if (want !== undefined && !options.some((o) => matchesOutput(o, want))) {
      problems.push(`printed ${JSON.stringify(options[0])}, the comment says ${JSON.stringify(want)}`);
    }
  });
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
}
