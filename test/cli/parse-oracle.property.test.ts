// parseArgs against the real nsenter (Debian's util-linux 2.38.1) for usage errors only, on the
// command lines where 2.38.1 and 2.42 agree (docs/upstream.md §10.2, §12). Each command line
// is first checked against 2.38.1's option table with our own getopt: it is run only if 2.38.1
// must stop with the same complaint before doing anything, so nsenter never gets as far as
// running a program. A `-t 99999999 -m` prefix is a second guard: were parsing ever to succeed,
// nsenter would fail to open /proc/99999999/ns/mnt before it could exec anything.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { getoptLong, shortOptionsFrom, type GetoptEvent, type LongOption, type OptionTable } from '../../src/cli/getopt.ts';
import { parseArgs, type ParseStop } from '../../src/cli/index.ts';
import { NSENTER_OPTIONS } from '../../src/cli/parse.ts';
import { needs, skipUnless } from '../support/gate.ts';

const ORACLE = '/usr/bin/nsenter';
const GUARD = ['-t', '99999999', '-m'];

/** What the oracle is: found, and the version whose table is written below. */
function oracleState(): 'ready' | 'missing' | 'other-version' {
  if (!existsSync(ORACLE)) return 'missing';
  const version = spawnSync(ORACLE, ['-V'], { encoding: 'utf8', env: { LC_ALL: 'C' } }).stdout;
  return /util-linux 2\.38\b/.test(version) ? 'ready' : 'other-version';
}

// In CI the oracle is part of the test environment: without it, this must fail, not skip.
const state = oracleState();
const oracleReady = needs(ORACLE) && skipUnless(state === 'ready', `${ORACLE} is not util-linux 2.38, whose options this file's table holds`);

/** Debian's 2.38.1 (an SELinux build, so --follow-context exists), from its own --help and `--=`. */
const NSENTER_2_38_1: OptionTable = {
  short: shortOptionsFrom('+ahVt:m::u::i::n::p::C::U::T::S:G:r::w::W:FZ'),
  long: (
    [
      ['all', 'none', 'a'],
      ['help', 'none', 'h'],
      ['version', 'none', 'V'],
      ['target', 'required', 't'],
      ['mount', 'optional', 'm'],
      ['uts', 'optional', 'u'],
      ['ipc', 'optional', 'i'],
      ['net', 'optional', 'n'],
      ['pid', 'optional', 'p'],
      ['user', 'optional', 'U'],
      ['cgroup', 'optional', 'C'],
      ['time', 'optional', 'T'],
      ['setuid', 'required', 'S'],
      ['setgid', 'required', 'G'],
      ['root', 'optional', 'r'],
      ['wd', 'optional', 'w'],
      ['wdns', 'optional', 'W'],
      ['no-fork', 'none', 'F'],
      ['preserve-credentials', 'none', 'preserve-credentials'],
      ['follow-context', 'none', 'Z'],
    ] as const
  ).map(([name, argument, key]): LongOption => ({ name, argument, key })),
};

/** Options whose handling is the same in both versions and has no side effect while parsing. */
const HARMLESS_BARE = new Set(['a', 'm', 'u', 'i', 'n', 'p', 'C', 'U', 'T', 'r', 'w', 'F', 'preserve-credentials']);

interface Expected {
  readonly line: string;
  readonly tryLine: boolean;
  /** getopt's events up to and including the one that stops 2.38.1. */
  readonly events: readonly GetoptEvent[];
}

/**
 * The first line 2.38.1 must print for `argv`, if it stops while parsing with a complaint that
 * 2.42 words the same way; undefined when that is not certain.
 */
function expectedFrom2381(argv: readonly string[]): Expected | undefined {
  const events: GetoptEvent[] = [];
  for (const event of getoptLong(argv, NSENTER_2_38_1)) {
    events.push(event);
    if (event.kind === 'end') return undefined;
    if (event.kind === 'error') return { line: event.message, tryLine: true, events };
    if (event.key === 'S' || event.key === 'G') {
      const complaint = idComplaint2381(event);
      if (complaint === 'unsure') return undefined;
      if (complaint !== undefined) return { line: complaint, tryLine: false, events };
      continue;
    }
    const isGuardTarget = event.key === 't' && event.value === GUARD[1];
    if (!isGuardTarget && (!HARMLESS_BARE.has(event.key) || event.value !== undefined)) return undefined;
  }
  return undefined;
}

/**
 * The two versions agree on `argv` when getopt reads it the same way with either option table
 * up to where 2.38.1 stops (the option handlers allowed above behave alike, docs/upstream.md §12).
 */
function versionsAgree(argv: readonly string[], expected: Expected): boolean {
  const events = [...getoptLong(argv, NSENTER_OPTIONS)].slice(0, expected.events.length);
  return JSON.stringify(events) === JSON.stringify(expected.events);
}

/** 2.38.1's strtoul_or_err, for the values where 2.42's reading is the same: no minus sign. */
function idComplaint2381(event: GetoptEvent & { kind: 'option' }): string | undefined | 'unsure' {
  const value = event.value ?? '';
  if (value.includes('-') || value === 'follow') return 'unsure';
  const what = event.key === 'S' ? 'failed to parse uid' : 'failed to parse gid';
  // strtoul: spaces, a sign, digits; overflow is reported even with junk after the digits.
  const match = /^[ \t\n\v\f\r]*\+?([0-9]+)(.*)$/s.exec(value);
  if (match === null) return `${what}: '${value}'`;
  if (BigInt(match[1]!) > 2n ** 64n - 1n) return `${what}: '${value}': Numerical result out of range`;
  return match[2] === '' ? undefined : `${what}: '${value}'`;
}

function predictedLine(stop: ParseStop | undefined): Pick<Expected, 'line' | 'tryLine'> | undefined {
  if (stop?.kind === 'usage' && stop.message !== undefined) return { line: stop.message, tryLine: true };
  if (stop?.kind === 'error') return { line: stop.message, tryLine: false };
  return undefined;
}

function runOracle(argv: readonly string[]): { status: number | null; lines: string[] } {
  const result = spawnSync(ORACLE, argv, {
    encoding: 'utf8',
    env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 5000,
  });
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  return { status: result.status, lines: lines.map((line) => line.replace(/^(\/usr\/bin\/)?nsenter: /, '')) };
}

// ---- Generators: pieces of command lines, most of them ending parsing with a complaint ----------

const idValue = fc.constantFrom(
  ...['5', '0', ' 7', '\t\n7', '+5', '4294967296', '18446744073709551615', 'abc', '', ' ', '5 ', '12x', '0x10', '+'],
  ...['18446744073709551616', '99999999999999999999', '99999999999999999999x', '+ 5', '٣'],
);
const harmless = fc.constantFrom('-a', '-F', '-m', '-u', '-i', '-n', '-p', '-C', '-U', '-T', '-r', '-w', '-aF', '--all', '--no-fork', '--mount', '--preserve-credentials', '--pres', '--net', '--user');
const idPiece = fc.oneof(
  idValue.map((value) => ['-S', value]),
  idValue.map((value) => ['-G', value]),
  idValue.map((value) => [`--setuid=${value}`]),
  idValue.map((value) => [`--setg=${value}`]),
  idValue.filter((value) => value !== '').map((value) => [`-aS${value}`]),
);
const longName = fc.constantFrom('all', 'mount', 'net', 'pid', 'preserve-credentials', 'no-fork', 'root', 'wd', 'wdns', 'setuid', 'user', 'foo', 'x');
const longError = fc.oneof(
  fc.tuple(longName, fc.nat()).map(([name, cut]) => [`--${name.slice(0, cut % (name.length + 1))}`]),
  fc.tuple(longName, fc.constantFrom('1', '', 'x=y')).map(([name, value]) => [`--${name}=${value}`]),
  fc.constantFrom(['--all=1'], ['--p'], ['--w'], ['--foo=bar'], ['--setuid'], ['--setgid']),
);
const shortError = fc
  .tuple(fc.array(fc.constantFrom('a', 'F', 'x', 'q', '+', ':', 'Y', 'S'), { minLength: 1, maxLength: 3 }))
  .map(([letters]) => [`-${letters.join('')}`]);
const piece = fc.oneof(
  { arbitrary: harmless.map((word) => [word]), weight: 3 },
  { arbitrary: idPiece, weight: 2 },
  { arbitrary: longError, weight: 2 },
  { arbitrary: shortError, weight: 2 },
);
const commandLine = fc
  .tuple(fc.array(piece, { maxLength: 4 }), fc.oneof(longError, shortError, idPiece), fc.array(piece, { maxLength: 2 }))
  .map(([before, error, after]) => [...GUARD, ...before.flat(), ...error, ...after.flat()]);

describe('usage errors agree with nsenter 2.38.1 where 2.42 does too', () => {
  test.runIf(oracleReady)('first stderr line, Try line and exit status', () => {
    let compared = 0;
    fc.assert(
      fc.property(commandLine, (argv) => {
        const expected = expectedFrom2381(argv);
        const ours = parseArgs(argv);
        fc.pre(expected !== undefined && versionsAgree(argv, expected) && ours.earlyFiles.length === 0);
        expect(predictedLine(ours.stop)).toEqual({ line: expected!.line, tryLine: expected!.tryLine });
        const oracle = runOracle(argv);
        compared++;
        expect(oracle.status).toBe(1);
        expect(oracle.lines[0]).toBe(expected!.line);
        expect(oracle.lines[1] === `Try 'nsenter --help' for more information.`).toBe(expected!.tryLine);
      }),
      { numRuns: 150 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});
