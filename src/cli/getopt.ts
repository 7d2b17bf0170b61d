// A getopt_long tokeniser with glibc's semantics in `+` (REQUIRE_ORDER) mode, which is how
// nsenter reads its command line (docs/upstream.md §1, §2). It knows nothing about nsenter:
// callers give it an option table and act on each event as it comes, in argv order, because
// upstream acts on each option the moment getopt returns it (docs/upstream.md §2.5).
//
// Messages are glibc 2.36's, without the `argv[0]: ` prefix (docs/upstream.md §10.1).

/** Whether an option takes an argument: glibc's no_argument / required_argument / optional_argument. */
export type ArgumentRule = 'none' | 'required' | 'optional';

export interface LongOption {
  /** Without the leading `--`. */
  readonly name: string;
  readonly argument: ArgumentRule;
  /**
   * What the option means; two long options with the same key and rule are one option to glibc
   * (`val` in `struct option`), so a prefix matching both is not ambiguous.
   */
  readonly key: string;
}

export interface ShortOption {
  /** One character. */
  readonly letter: string;
  readonly argument: ArgumentRule;
}

export interface OptionTable {
  readonly short: readonly ShortOption[];
  readonly long: readonly LongOption[];
  /**
   * Long options added on top of `long` without changing what any word means to it: a word is
   * looked up here only when it matches nothing in `long` (no exact name, no prefix), and then by
   * the same rules. So a table with extensions accepts every command line the table without them
   * accepts, with the same meaning, and its messages for the words `long` knows are unchanged.
   */
  readonly extensions?: readonly LongOption[];
}

export type GetoptEvent =
  /**
   * An option, in argv order. Short options report their letter as `key`. `value` is undefined
   * when an optional argument was not attached. `index` is the argv word the option starts in.
   */
  | { readonly kind: 'option'; readonly key: string; readonly value: string | undefined; readonly index: number }
  /** glibc's complaint, e.g. `invalid option -- 'x'`. glibc carries on after it; callers may stop. */
  | { readonly kind: 'error'; readonly message: string; readonly index: number }
  /** The options are over; argv[index…] are the operands (the program and its arguments). */
  | { readonly kind: 'end'; readonly index: number };

/**
 * Reads an optstring in glibc's notation (`ahVt:m::`): a letter, then `:` for a required argument
 * or `::` for an optional one. A leading `+` or `-` (ordering mode) is skipped: this tokeniser
 * always stops at the first non-option.
 */
export function shortOptionsFrom(optstring: string): ShortOption[] {
  const body = optstring.replace(/^[+-]/, '');
  const options: ShortOption[] = [];
  for (let i = 0; i < body.length; i++) {
    const letter = body[i]!;
    if (letter === ':') continue;
    let argument: ArgumentRule = 'none';
    if (body[i + 1] === ':') argument = body[i + 2] === ':' ? 'optional' : 'required';
    options.push({ letter, argument });
  }
  return options;
}

/** Every event for `argv` (program name excluded), ending with exactly one `end` event. */
export function* getoptLong(argv: readonly string[], table: OptionTable): Generator<GetoptEvent, void, undefined> {
  let index = 0;
  while (index < argv.length) {
    const word = argv[index]!;
    if (word === '--') {
      yield { kind: 'end', index: index + 1 };
      return;
    }
    // `-` alone and words not starting with `-` are the program: REQUIRE_ORDER stops here.
    if (!word.startsWith('-') || word === '-') break;

    if (word.startsWith('--')) {
      const result = readLongOption(argv, index, table);
      yield result.event;
      index = result.next;
    } else {
      const result = readShortCluster(argv, index, table.short);
      yield* result.events;
      index = result.next;
    }
  }
  yield { kind: 'end', index };
}

interface LongResult {
  readonly event: GetoptEvent;
  readonly next: number;
}

/** One `--name[=value]` word (and the next word, for a required argument given separately). */
function readLongOption(argv: readonly string[], index: number, table: OptionTable): LongResult {
  const typed = argv[index]!.slice(2);
  const equals = typed.indexOf('=');
  const name = equals === -1 ? typed : typed.slice(0, equals);
  const attached = equals === -1 ? undefined : typed.slice(equals + 1);
  const error = (message: string): LongResult => ({ event: { kind: 'error', message, index }, next: index + 1 });

  const match = lookupLong(name, table);
  // glibc quotes the whole word here, `=value` included (checked against nsenter 2.38.1).
  if (match.kind === 'ambiguous') {
    const possibilities = match.candidates.map((option) => ` '--${option.name}'`).join('');
    return error(`option '--${typed}' is ambiguous; possibilities:${possibilities}`);
  }
  if (match.kind === 'none') return error(`unrecognized option '--${typed}'`);

  const option = match.option;
  // From here on glibc names the option in full, whatever prefix was typed.
  if (attached !== undefined) {
    if (option.argument === 'none') return error(`option '--${option.name}' doesn't allow an argument`);
    return { event: { kind: 'option', key: option.key, value: attached, index }, next: index + 1 };
  }
  if (option.argument === 'required') {
    const value = argv[index + 1];
    if (value === undefined) return error(`option '--${option.name}' requires an argument`);
    return { event: { kind: 'option', key: option.key, value, index }, next: index + 2 };
  }
  return { event: { kind: 'option', key: option.key, value: undefined, index }, next: index + 1 };
}

export type LongMatch =
  | { readonly kind: 'found'; readonly option: LongOption }
  | { readonly kind: 'ambiguous'; readonly candidates: readonly LongOption[] }
  | { readonly kind: 'none' };

/**
 * What a typed long name (without `--` and `=value`) selects: glibc's lookup in `table.long`, and
 * only when that finds nothing at all, the same lookup in `table.extensions`.
 */
export function lookupLong(name: string, table: OptionTable): LongMatch {
  const match = findLongOption(name, table.long);
  if (match.kind !== 'none' || table.extensions === undefined) return match;
  return findLongOption(name, table.extensions);
}

/**
 * glibc's lookup: an exact name wins; otherwise a unique prefix. Prefix matches that are the same
 * option as the first one (same key and rule) do not make it ambiguous; the others are listed in
 * table order, the first match included.
 */
function findLongOption(name: string, options: readonly LongOption[]): LongMatch {
  const exact = options.find((option) => option.name === name);
  if (exact !== undefined) return { kind: 'found', option: exact };

  const prefixed = options.filter((option) => option.name.startsWith(name));
  const first = prefixed[0];
  if (first === undefined) return { kind: 'none' };
  const different = prefixed.filter((option) => option.key !== first.key || option.argument !== first.argument);
  if (different.length === 0) return { kind: 'found', option: first };
  return { kind: 'ambiguous', candidates: [first, ...different] };
}

interface ShortResult {
  readonly events: readonly GetoptEvent[];
  readonly next: number;
}

/** One `-abc` word: letters until one takes the rest of the word (or the next word) as argument. */
function readShortCluster(argv: readonly string[], index: number, options: readonly ShortOption[]): ShortResult {
  const events: GetoptEvent[] = [];
  // By code point, so a non-ASCII letter is one complaint; glibc works byte by byte and would
  // print the first byte alone, which is not valid text anyway.
  const letters = Array.from(argv[index]!.slice(1));
  for (let i = 0; i < letters.length; i++) {
    const letter = letters[i]!;
    const rest = letters.slice(i + 1).join('');
    const option = options.find((candidate) => candidate.letter === letter);
    if (option === undefined) {
      events.push({ kind: 'error', message: `invalid option -- '${letter}'`, index });
      continue;
    }
    if (option.argument === 'none') {
      events.push({ kind: 'option', key: letter, value: undefined, index });
      continue;
    }
    if (rest !== '') {
      events.push({ kind: 'option', key: letter, value: rest, index });
      return { events, next: index + 1 };
    }
    if (option.argument === 'optional') {
      events.push({ kind: 'option', key: letter, value: undefined, index });
      return { events, next: index + 1 };
    }
    const value = argv[index + 1];
    if (value === undefined) {
      events.push({ kind: 'error', message: `option requires an argument -- '${letter}'`, index });
      return { events, next: index + 1 };
    }
    events.push({ kind: 'option', key: letter, value, index });
    return { events, next: index + 2 };
  }
  return { events, next: index + 1 };
}
