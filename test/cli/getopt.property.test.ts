// getopt.ts against a reference model of glibc's getopt_long in REQUIRE_ORDER mode, written here
// from glibc's description and shaped like glibc's own loop (an `optind` and a `nextchar`), not
// like getopt.ts (one function per word). Random argv are built from option words in every form:
// clusters, attached and separate arguments, long prefixes, `=` forms, `--`, non-options, junk.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { getoptLong, type GetoptEvent, type LongOption, type OptionTable } from '../../src/cli/getopt.ts';
import { parseArgs, parseArgsWith, NSENTER_OPTIONS } from '../../src/cli/parse.ts';
import { NSCTL_OPTIONS } from '../../src/cli/table.ts';

// ---- The model -------------------------------------------------------------------------------

/** glibc's has_arg values. */
const NO_ARGUMENT = 0;
const REQUIRED_ARGUMENT = 1;
const OPTIONAL_ARGUMENT = 2;

interface ModelLong {
  readonly name: string;
  readonly hasArg: number;
  readonly val: string;
}

interface ModelTable {
  /** glibc notation: `a`, `t:`, `m::`. */
  readonly optstring: string;
  readonly longopts: readonly ModelLong[];
  /**
   * nsctl's rule for its own long options, on top of glibc: a word glibc would call unrecognized
   * is looked up once more, the same way, in this second array.
   */
  readonly extensions: readonly ModelLong[];
}

function hasArgOf(rule: LongOption['argument']): number {
  if (rule === 'none') return NO_ARGUMENT;
  return rule === 'required' ? REQUIRED_ARGUMENT : OPTIONAL_ARGUMENT;
}

function modelTableOf(table: OptionTable): ModelTable {
  const suffix = { none: '', required: ':', optional: '::' } as const;
  const longs = (options: readonly LongOption[]): ModelLong[] => options.map((option) => ({ name: option.name, hasArg: hasArgOf(option.argument), val: option.key }));
  return {
    optstring: table.short.map((option) => option.letter + suffix[option.argument]).join(''),
    longopts: longs(table.long),
    extensions: longs(table.extensions ?? []),
  };
}

function modelGetopt(argv: readonly string[], table: ModelTable): GetoptEvent[] {
  const out: GetoptEvent[] = [];
  let optind = 0;
  let nextchar: string[] = []; // the rest of the current cluster, by code point
  let clusterIndex = 0;

  for (;;) {
    if (nextchar.length === 0) {
      if (optind >= argv.length) break;
      const word = argv[optind]!;
      if (word === '--') {
        optind++;
        break;
      }
      if (word[0] !== '-' || word.length === 1) break;
      if (word[1] === '-') {
        optind = modelLong(argv, optind, table, out);
        continue;
      }
      nextchar = Array.from(word.slice(1));
      clusterIndex = optind;
    }

    const c = nextchar.shift()!;
    if (nextchar.length === 0) optind++;
    const at = c === ':' ? -1 : table.optstring.indexOf(c);
    if (at === -1) {
      out.push({ kind: 'error', message: `invalid option -- '${c}'`, index: clusterIndex });
      continue;
    }
    const colons = table.optstring.slice(at + 1).match(/^:{0,2}/)![0].length;
    if (colons === 0) {
      out.push({ kind: 'option', key: c, value: undefined, index: clusterIndex });
    } else if (colons === 2) {
      const value = nextchar.length > 0 ? nextchar.join('') : undefined;
      if (value !== undefined) optind++;
      nextchar = [];
      out.push({ kind: 'option', key: c, value, index: clusterIndex });
    } else if (nextchar.length > 0) {
      out.push({ kind: 'option', key: c, value: nextchar.join(''), index: clusterIndex });
      nextchar = [];
      optind++;
    } else if (optind === argv.length) {
      out.push({ kind: 'error', message: `option requires an argument -- '${c}'`, index: clusterIndex });
    } else {
      out.push({ kind: 'option', key: c, value: argv[optind], index: clusterIndex });
      optind++;
    }
  }
  out.push({ kind: 'end', index: optind });
  return out;
}

/** One `--…` word; returns the new optind. */
function modelLong(argv: readonly string[], optind: number, table: ModelTable, out: GetoptEvent[]): number {
  const index = optind;
  const nextchar = argv[optind]!.slice(2);
  const eq = nextchar.indexOf('=');
  const namelen = eq === -1 ? nextchar.length : eq;
  const typed = nextchar.slice(0, namelen);

  let lookup = modelLookup(typed, table.longopts);
  if (lookup.ambiguous === undefined && lookup.found === undefined) lookup = modelLookup(typed, table.extensions);
  if (lookup.ambiguous !== undefined) {
    out.push({ kind: 'error', message: `option '--${nextchar}' is ambiguous; possibilities:${lookup.ambiguous}`, index });
    return optind + 1;
  }
  const found = lookup.found;
  if (found === undefined) {
    out.push({ kind: 'error', message: `unrecognized option '--${nextchar}'`, index });
    return optind + 1;
  }

  optind++;
  if (eq !== -1) {
    if (found.hasArg === NO_ARGUMENT) {
      out.push({ kind: 'error', message: `option '--${found.name}' doesn't allow an argument`, index });
    } else {
      out.push({ kind: 'option', key: found.val, value: nextchar.slice(eq + 1), index });
    }
  } else if (found.hasArg === REQUIRED_ARGUMENT) {
    if (optind < argv.length) {
      out.push({ kind: 'option', key: found.val, value: argv[optind], index });
      optind++;
    } else {
      out.push({ kind: 'error', message: `option '--${found.name}' requires an argument`, index });
    }
  } else {
    out.push({ kind: 'option', key: found.val, value: undefined, index });
  }
  return optind;
}

/** glibc's search of one longopts array: the option found, or the ambiguity list it prints. */
function modelLookup(typed: string, longopts: readonly ModelLong[]): { found?: ModelLong; ambiguous?: string } {
  let found: ModelLong | undefined;
  for (const p of longopts) {
    if (p.name === typed) {
      found = p;
      break;
    }
  }
  if (found === undefined) {
    const ambiguous = new Set<number>();
    let first = -1;
    longopts.forEach((p, i) => {
      if (!p.name.startsWith(typed)) return;
      if (first === -1) {
        first = i;
        return;
      }
      const f = longopts[first]!;
      if (f.hasArg !== p.hasArg || f.val !== p.val) {
        ambiguous.add(first);
        ambiguous.add(i);
      }
    });
    if (ambiguous.size > 0) {
      const list = longopts
        .filter((_, i) => ambiguous.has(i))
        .map((p) => ` '--${p.name}'`)
        .join('');
      return { ambiguous: list };
    }
    if (first !== -1) found = longopts[first];
  }
  return found === undefined ? {} : { found };
}

// ---- Generators ------------------------------------------------------------------------------

const JUNK_LETTERS = ['x', 'q', '+', ':', '-', '=', 'é'];
const PLAIN_WORDS = ['true', '/x', '123', '', '-', '--', '=', 'a=b', 'follow'];

/** Random argv over `table`'s words, `vocabulary`'s long names, their prefixes, and junk. */
function argvFor(table: OptionTable, vocabulary: OptionTable = table): fc.Arbitrary<string[]> {
  const letters = [...table.short.map((option) => option.letter), ...JUNK_LETTERS];
  const names = [...vocabulary.long, ...(vocabulary.extensions ?? [])].map((option) => option.name).concat('foo', 'x');
  const value = fc.oneof(fc.constantFrom('', '=', '/p', '5', '-n', '--all', '=x', 'a b'), fc.string({ maxLength: 4 }));

  const cluster = fc
    .tuple(fc.array(fc.constantFrom(...letters), { minLength: 1, maxLength: 4 }), fc.option(value, { nil: undefined }))
    .map(([chars, tail]) => `-${chars.join('')}${tail ?? ''}`);
  const long = fc
    .tuple(fc.constantFrom(...names), fc.nat(), fc.option(value, { nil: undefined }))
    .map(([name, cut, tail]) => `--${name.slice(0, cut % (name.length + 1))}${tail === undefined ? '' : `=${tail}`}`);
  const word = fc.oneof(
    { arbitrary: cluster, weight: 4 },
    { arbitrary: long, weight: 4 },
    { arbitrary: fc.constantFrom(...PLAIN_WORDS), weight: 1 },
    { arbitrary: value, weight: 1 },
  );
  return fc.array(word, { maxLength: 8 });
}

/**
 * Small random tables with colliding names, to exercise prefixes and glibc's "same option" rule,
 * and extensions that collide with each other and with the table's own names.
 */
const LONG_NAMES = ['a', 'ab', 'abc', 'abd', 'b', 'ba', 'bad', 'c', 'ca', 'cab', 'd'];
const randomTable: fc.Arbitrary<OptionTable> = fc
  .tuple(
    fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'W', 'Z'), { maxLength: 5 }),
    fc.uniqueArray(fc.constantFrom(...LONG_NAMES), { maxLength: 6 }),
    fc.uniqueArray(fc.constantFrom(...LONG_NAMES), { maxLength: 4 }),
    fc.infiniteStream(fc.constantFrom('none', 'required', 'optional') as fc.Arbitrary<LongOption['argument']>),
    fc.infiniteStream(fc.constantFrom('k1', 'k2', 'k3', 'x1', 'x2')),
  )
  .map(([letters, names, extensions, rules, keys]) => ({
    short: letters.map((letter) => ({ letter, argument: rules.next().value })),
    long: names.map((name) => ({ name, argument: rules.next().value, key: keys.next().value })),
    extensions: extensions.map((name) => ({ name, argument: rules.next().value, key: keys.next().value })),
  }));

/**
 * nsenter 2.42's tables as its source has them in an SELinux build (every distribution's): the
 * optstring (without the leading `+`, REQUIRE_ORDER) and the long options in table order, with
 * `follow-context` last. The model runs on these, not on what src/cli/table.ts makes.
 */
const NSENTER_2_42_SELINUX: ModelTable = {
  optstring: 'ahVt:m::u::i::n::N:p::C::U::T::S:G:r::w::W::ecFZ',
  longopts: (
    [
      ['all', NO_ARGUMENT, 'a'], ['help', NO_ARGUMENT, 'h'], ['version', NO_ARGUMENT, 'V'], ['target', REQUIRED_ARGUMENT, 't'],
      ['mount', OPTIONAL_ARGUMENT, 'm'], ['uts', OPTIONAL_ARGUMENT, 'u'], ['ipc', OPTIONAL_ARGUMENT, 'i'], ['net', OPTIONAL_ARGUMENT, 'n'],
      ['net-socket', REQUIRED_ARGUMENT, 'N'], ['pid', OPTIONAL_ARGUMENT, 'p'], ['user', OPTIONAL_ARGUMENT, 'U'], ['cgroup', OPTIONAL_ARGUMENT, 'C'],
      ['time', OPTIONAL_ARGUMENT, 'T'], ['setuid', REQUIRED_ARGUMENT, 'S'], ['setgid', REQUIRED_ARGUMENT, 'G'], ['root', OPTIONAL_ARGUMENT, 'r'],
      ['wd', OPTIONAL_ARGUMENT, 'w'], ['wdns', OPTIONAL_ARGUMENT, 'W'], ['env', NO_ARGUMENT, 'e'], ['no-fork', NO_ARGUMENT, 'F'],
      ['join-cgroup', NO_ARGUMENT, 'c'], ['preserve-credentials', NO_ARGUMENT, 'preserve-credentials'], ['keep-caps', NO_ARGUMENT, 'keep-caps'],
      ['user-parent', NO_ARGUMENT, 'user-parent'], ['follow-context', NO_ARGUMENT, 'Z'],
    ] as const
  ).map(([name, hasArg, val]) => ({ name, hasArg, val })),
  extensions: [],
};

// ---- Properties ------------------------------------------------------------------------------

describe("the model's nsenter is 2.42's SELinux build, -Z and --follow-context included", () => {
  test('nsctl reads every argv over nsenter words exactly as glibc over that table does', () => {
    fc.assert(
      fc.property(argvFor(NSENTER_OPTIONS), (argv) => {
        expect([...getoptLong(argv, NSENTER_OPTIONS)]).toEqual(modelGetopt(argv, NSENTER_2_42_SELINUX));
      }),
      { numRuns: 2000 },
    );
    // Both -Z and every prefix of --follow-context select it; --f is nothing else's prefix.
    for (const argv of [['-Z'], ['--follow-context'], ['--f'], ['-aZn']]) {
      expect(modelGetopt(argv, NSENTER_2_42_SELINUX).filter((event) => event.kind === 'option').map((event) => (event.kind === 'option' ? event.key : ''))).toContain('Z');
    }
  });
});

describe('getoptLong agrees with the glibc model', () => {
  test('on nsenter 2.42 option table', () => {
    const model = modelTableOf(NSENTER_OPTIONS);
    fc.assert(
      fc.property(argvFor(NSENTER_OPTIONS), (argv) => {
        expect([...getoptLong(argv, NSENTER_OPTIONS)]).toEqual(modelGetopt(argv, model));
      }),
      { numRuns: 2000 },
    );
  });

  test("on nsctl's table: nsenter's, with the extensions behind it", () => {
    const model = modelTableOf(NSCTL_OPTIONS);
    fc.assert(
      fc.property(argvFor(NSCTL_OPTIONS), (argv) => {
        expect([...getoptLong(argv, NSCTL_OPTIONS)]).toEqual(modelGetopt(argv, model));
      }),
      { numRuns: 2000 },
    );
  });

  test('on random option tables with colliding long names', () => {
    fc.assert(
      fc.property(
        randomTable.chain((table) => fc.tuple(fc.constant(table), argvFor(table))),
        ([table, argv]) => {
          expect([...getoptLong(argv, table)]).toEqual(modelGetopt(argv, modelTableOf(table)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('every run ends with exactly one end event, and operands start after the options', () => {
    fc.assert(
      fc.property(argvFor(NSENTER_OPTIONS), (argv) => {
        const events = [...getoptLong(argv, NSENTER_OPTIONS)];
        const ends = events.filter((event) => event.kind === 'end');
        expect(ends).toHaveLength(1);
        expect(events.at(-1)).toBe(ends[0]);
        const end = ends[0]!.index;
        expect(end).toBeLessThanOrEqual(argv.length);
        for (const event of events) expect(event.index).toBeLessThanOrEqual(end);
      }),
      { numRuns: 500 },
    );
  });
});

// ---- The compatibility contract -------------------------------------------------------------

describe("nsctl's own long options change nothing nsenter accepts (docs/compat.md)", () => {
  // glibc's getopt_long over nsenter 2.42's table alone: what nsenter itself does with argv.
  const nsenter = modelTableOf(NSENTER_OPTIONS);
  // Drawn over nsenter's words and nsctl's, with their abbreviations.
  const argv = argvFor(NSENTER_OPTIONS, NSCTL_OPTIONS);

  test('an argv nsenter accepts parses to the same result, every extension unset', () => {
    let accepted = 0;
    fc.assert(
      fc.property(argv, (words) => {
        const events = modelGetopt(words, nsenter);
        fc.pre(events.every((event) => event.kind !== 'error'));
        accepted++;
        expect([...getoptLong(words, NSCTL_OPTIONS)]).toEqual(events);
        const ours = parseArgs(words);
        expect(ours).toEqual(parseArgsWith(words, NSENTER_OPTIONS));
        expect(ours.stop?.kind).not.toBe('list-targets');
        expect(ours.stop?.kind).not.toBe('completion');
        if (ours.options !== undefined) {
          const { explain, json, pty, hostTools } = ours.options;
          expect({ explain, json, pty, hostTools }).toEqual({ explain: false, json: false, pty: false, hostTools: false });
        }
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(500);
  });

  test("where nsenter refuses, nsctl reads the same up to there, and differs only on a word nsenter calls unrecognized", () => {
    fc.assert(
      fc.property(argv, (words) => {
        const theirs = modelGetopt(words, nsenter);
        const at = theirs.findIndex((event) => event.kind === 'error');
        fc.pre(at !== -1);
        const ours = [...getoptLong(words, NSCTL_OPTIONS)];
        expect(ours.slice(0, at)).toEqual(theirs.slice(0, at));
        const refusal = theirs[at]!;
        if (JSON.stringify(ours[at]) === JSON.stringify(refusal)) return;
        // Only a long word that selects none of nsenter's options may mean something to nsctl.
        expect(refusal.kind === 'error' && refusal.message.startsWith("unrecognized option '--")).toBe(true);
        const word = words[refusal.index]!;
        const name = word.slice(2).split('=')[0]!;
        const extensions = NSCTL_OPTIONS.extensions!.filter((option) => option.name.startsWith(name));
        expect(extensions.length).toBeGreaterThan(0);
        expect(ours[at]?.index).toBe(refusal.index);
      }),
      { numRuns: 2000 },
    );
  });
});
