// --help and --version texts. The help is nsctl's own wording (util-linux's text is GPL, and we
// write ours), made from the one option table (table.ts) by the small formatter below.
//
// Why our own formatter and not cac: cac is a command-line framework, a parser that also prints
// help. Its parser is not getopt (it reads `--no-x` as the negation of `--x`, has no attached
// optional arguments, camel-cases names), so nsctl could only ever borrow its help layout, and
// that layout can only be printed with console.info, never returned. Used that way it needed a
// console.info capture and a workaround for `--no-fork`. What is left to do — two columns, words
// wrapped at 80 — is a few lines here, loads nothing, and is shared with the man page and the
// completion scripts' descriptions through the same table.
import packageJson from '../../package.json' with { type: 'json' };
import { HELP_GROUPS, OPTION_SPECS, type HelpGroup, type OptionSpec } from './table.ts';

const PROGRAM = 'nsctl';
const WIDTH = 80;
/** The option column never pushes descriptions further right than this. */
const MAX_FLAGS_COLUMN = 32;

/** `nsctl <version>`, for --version. */
export function versionText(): string {
  return `${PROGRAM} ${packageJson.version}\n`;
}

/** Each group's heading, in --help and (without its colon) in the man page. */
export const HEADINGS: Readonly<Record<HelpGroup, string>> = {
  target: 'Target:',
  namespaces: 'Namespaces to enter (the target\'s, or the one FILE is):',
  process: 'The program:',
  nsctl: "nsctl's own options (nsenter has none of these):",
  information: 'Information:',
};

const SUMMARY = [
  'Runs PROGRAM (default: a login shell) in the namespaces of another process',
  'or of namespace files. Options end at the first word that is not one, or at --.',
  'Optional arguments must be attached: -nFILE or --net=FILE.',
];

/** The --help text. */
export function helpText(): string {
  const shown = OPTION_SPECS.filter((spec) => !spec.hidden);
  const rows = shown.map((spec) => ({ flags: flagsOf(spec), spec }));
  const widest = Math.max(...rows.map((row) => row.flags.length));
  const column = Math.min(2 + widest + 2, MAX_FLAGS_COLUMN);
  const lines = [`Usage: ${PROGRAM} [options] [<program> [<argument>...]]`, '', ...SUMMARY];
  for (const group of HELP_GROUPS) {
    lines.push('', HEADINGS[group]);
    for (const row of rows) if (row.spec.group === group) lines.push(...twoColumns(row.flags, row.spec.summary, column));
  }
  lines.push('', `The manual has more, and the kinds -t KIND:NAME knows: man ${PROGRAM}`);
  return `${lines.join('\n')}\n`;
}

/** `-n, --net[=<file>]`, `    --keep-caps`, `-t, --target <target>`: how help and man name an option. */
export function flagsOf(spec: OptionSpec): string {
  const short = spec.short === undefined ? '    ' : `-${spec.short}${spec.long === undefined ? '' : ', '}`;
  const long = spec.long === undefined ? '' : `--${spec.long}`;
  return `${short}${long}${argumentOf(spec)}`;
}

/** ` <uid>` for a required argument, `[=<file>]` for an optional one (it must be attached). */
function argumentOf(spec: OptionSpec): string {
  if (spec.value === undefined || spec.argument === 'none') return '';
  if (spec.argument === 'required') return ` <${spec.value.name}>`;
  return spec.long === undefined ? `[<${spec.value.name}>]` : `[=<${spec.value.name}>]`;
}

/** One option: flags at column 2, the description from `column`, wrapped to WIDTH. */
function twoColumns(flags: string, description: string, column: number): string[] {
  const left = `  ${flags}`;
  const wrapped = wrapWords(description, WIDTH - column);
  const pad = ' '.repeat(column);
  if (left.length + 2 > column) return [left, ...wrapped.map((line) => pad + line)];
  return wrapped.map((line, i) => (i === 0 ? left.padEnd(column) : pad) + line);
}

/** Greedy word wrap; a word longer than the width gets a line of its own. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
