// The caller stage: what nsctl was started with, with its bytes — its own arguments and the
// environment the program gets. Node decodes both lossily (every byte that is not UTF-8 becomes
// U+FFFD, variables are keyed by name), so the bytes come from /proc/self when they matter.
import { decodeBytes } from '../kernel/bytes.ts';
import { readWhole } from '../kernel/read.ts';

export { programEnvironment } from './environment.ts';

/**
 * nsctl's own arguments with their bytes: Node's process.argv has every byte that is not UTF-8
 * replaced by U+FFFD, so where one of them shows that mark, the same arguments are read again
 * from /proc/self/cmdline and decoded with escapes (src/kernel/bytes.ts). Only used when they
 * match what Node decoded, entry for entry; otherwise (no /proc) Node's view stands.
 */
export function faithfulArguments(argv: readonly string[]): readonly string[] {
  if (!argv.some((arg) => arg.includes('\uFFFD'))) return argv;
  const raw = nulSeparated('/proc/self/cmdline');
  if (raw === undefined || raw.length < argv.length) return argv;
  const tail = raw.slice(raw.length - argv.length);
  if (!tail.every((bytes, i) => bytes.toString('utf8') === argv[i])) return argv;
  return tail.map(decodeBytes);
}

/**
 * The environment nsctl was started with, as nsenter hands it on: every NAME=value entry with its
 * bytes, in its order, repeats included. Node's process.env is not that: it replaces bytes that
 * are not UTF-8, drops variables whose names are not UTF-8 and keeps one entry per name. Without
 * /proc (a rescue shell before mounting it), process.env is the nearest there is.
 */
export function startupEnvironment(env: NodeJS.ProcessEnv): string[] {
  const raw = nulSeparated('/proc/self/environ');
  if (raw === undefined) return Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  return raw.map(decodeBytes);
}

function nulSeparated(path: string): Buffer[] | undefined {
  let data: Buffer;
  try {
    data = readWhole(path);
  } catch {
    return undefined;
  }
  const entries: Buffer[] = [];
  for (let start = 0; start < data.length; ) {
    const end = data.indexOf(0, start);
    entries.push(data.subarray(start, end < 0 ? data.length : end));
    start = end < 0 ? data.length : end + 1;
  }
  return entries;
}

