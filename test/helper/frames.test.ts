// Every rejection text of docs/plan-format.md's "Validation", word for word, from both the model
// decoder (test/support/wire-model.ts) and the helper's `--check`; the dump of a valid plan; the
// helper's command line; and the query frames of `run`. Never skipped: the helper must exist.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/plan/plan.ts';
import { nsFactsQuery as encodeNsFactsQuery } from '../../src/procfs/ask.ts';
import { encodePlan, MAX_LIST_STRINGS, planRecord } from '../../src/wire/index.ts';
import { needs } from '../support/gate.ts';
import { check, HELPER, helperCommand, nodePlanner, run, shPlanner, until } from '../support/helper.ts';
import { decodeAnswerFrame, decodeQueryFrame, modelCheck } from '../support/wire-model.ts';

// ---- Raw bytes ---------------------------------------------------------------------------------

const enc = new TextEncoder();
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const u16 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff);
const u32 = (...vs: number[]): Uint8Array => cat(...vs.map((v) => cat(u16(v & 0xffff), u16(v >>> 16))));
const u64 = (v: bigint): Uint8Array => cat(u32(Number(v & 0xffffffffn)), u32(Number(v >> 32n)));
const str = (s: string | Uint8Array): Uint8Array => {
  const b = typeof s === 'string' ? enc.encode(s) : s;
  return cat(u32(b.length), b);
};
const list = (...items: string[]): Uint8Array => cat(u32(items.length), ...items.map((s) => str(s)));

/** A record: type, flags, payload. */
const rec = (type: number, flags: number, ...payload: Uint8Array[]): Uint8Array => {
  const p = cat(...payload);
  return cat(u16(type), u16(flags), u32(p.length), p);
};
/** The texts and hint a step of this type ends with: "t0", "t1", … and an empty hint. */
const texts = (op: string): Uint8Array => cat(...planRecord(op)!.texts.map((_, i) => str(`t${i}`)), str(''));
const TYPE = (op: string): number => planRecord(op)!.type;
/** A step record with its texts appended. */
const step = (op: string, flags: number, ...fields: Uint8Array[]): Uint8Array => rec(TYPE(op), flags, ...fields, texts(op));
const header = (len: number, over: { magic?: string; version?: number; flags?: number; reserved?: number } = {}): Uint8Array =>
  cat(enc.encode(over.magic ?? 'NSCP'), u16(over.version ?? 2), u16(over.flags ?? 0), u32(len), u32(over.reserved ?? 0));
const frame = (...records: Uint8Array[]): Uint8Array => {
  const body = cat(...records);
  return cat(header(body.length), body);
};

const CWD = 0xffffffff;
const NONE = 0xffffffff;
const NET = 0x40000000;
const END = rec(1, 0);
const EXEC = step('exec', 0, str('true'), list('true'), list());
const OPEN = (slot: number, flags = 0): Uint8Array => step('open', flags, u32(slot, CWD, 0), str('/'));

/** Both decoders reject `bytes` with exactly this reason. */
function expectRejected(bytes: Uint8Array, reason: string): void {
  expect(modelCheck(bytes)).toStrictEqual({ ok: false, reason });
  expect(check(bytes)).toStrictEqual({ status: 1, signal: null, stdout: '', stderr: `nsctl-helper: invalid plan: ${reason}\n` });
}

/** Both decoders accept `bytes` with the same dump; returns it. */
function expectAccepted(bytes: Uint8Array): string {
  const model = modelCheck(bytes);
  if (!model.ok) throw new Error(model.reason);
  expect(check(bytes)).toStrictEqual({ status: 0, signal: null, stdout: model.dump, stderr: '' });
  return model.dump;
}

// ---- The command line --------------------------------------------------------------------------

describe('the helper binary', () => {
  it('exists for this machine (run scripts/build-helper if not)', () => {
    expect(existsSync(HELPER), HELPER).toBe(true);
  });

  const usage = 'usage: nsctl-helper run NODE SCRIPT [ARG...] | nsctl-helper --check\n';
  it.each([
    [[], "expected 'run' or '--check'"],
    [['frobnicate'], "unknown command (expected 'run' or '--check')"],
    [['--check', 'x'], '--check takes no arguments'],
    [['run'], 'run needs NODE and SCRIPT'],
    [['run', '/bin/sh'], 'run needs NODE and SCRIPT'],
  ])('%j: says what is wrong, prints the usage line and exits 2', (args, what) => {
    const r = helperCommand(args, { input: '' });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toStrictEqual({ status: 2, stdout: '', stderr: `nsctl-helper: ${what}\n${usage}` });
  });

  it('--check never dies by a signal: a closed stdout is exit 1 with a line, not SIGPIPE', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `VARIABLE_${i}=${'x'.repeat(40)}`);
    const bytes = encodePlan({ steps: [{ op: 'exec', file: 'true', argv: ['true'], env: many, fail: { what: 'x' } }] });
    const r = spawnSync('bash', ['-c', '"$0" --check | true; echo "status ${PIPESTATUS[0]}"', HELPER], { input: bytes, encoding: 'utf8' });
    expect(r.stdout).toBe('status 1\n');
    expect(r.stderr).toBe('nsctl-helper: cannot write the dump: Broken pipe\n');
  });
});

// ---- The dump ----------------------------------------------------------------------------------

describe('the dump', () => {
  it("prints docs/plan-format.md's example exactly", () => {
    const what = 'cannot open /proc/42/ns/net';
    const steps: Step[] = [
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/proc/42', fail: { what } },
      { op: 'pidfd', slot: 1, pid: 42, fail: { what } },
      { op: 'check-start', proc: 0, start: 8812n, fail: { what: 'process 42 exited or was replaced after nsctl read it; nothing was entered' } },
      { op: 'exec', file: 'true', argv: ['true'], env: [], fail: { what: 'failed to execute true' } },
    ];
    expect(expectAccepted(encodePlan({ steps }))).toBe(
      'nscp 2\n' +
        'step 0 open slot=0 at=cwd how=directory path="/proc/42" texts=["cannot open /proc/42/ns/net"] hint=""\n' +
        'step 1 pidfd slot=1 pid=42 texts=["cannot open /proc/42/ns/net"] hint=""\n' +
        'step 2 check-start proc=0 start=8812 texts=["process 42 exited or was replaced after nsctl read it; nothing was entered"] hint=""\n' +
        'step 3 exec file="true" argv=["true"] env=[] texts=["failed to execute true"] hint=""\n' +
        'end\n',
    );
  });

  it('prints every field kind, every flag and escaped bytes', () => {
    const steps: Step[] = [
      { op: 'open', slot: 0, at: 'cwd', how: 'append', path: 'a"b\\c\x01\x7f', softDenied: true, fail: { what: 'é' }, hint: 'h' },
      { op: 'pidfd', slot: 1, pid: 2147483647, fail: { what: '' } },
      { op: 'check-inode', pidfd: 1, inode: 18446744073709551615n, fail: { stat: 's', what: 'w' } },
      { op: 'setns', fd: 1, mask: ['time', 'user', 'mnt', 'net'], soft: true, fail: { what: '' } },
      { op: 'environ', fd: 0, proc: 1, late: true, drop: ['LD_PRELOAD', ''], note: 'n', fail: { open: 'o', get: 'g', set: 's' } },
      { op: 'environ', fd: 0, proc: 'none', drop: [], note: '', fail: { open: 'o', get: 'g', set: 's' } },
      { op: 'open', slot: 2, at: 1, how: 'read', path: 'x', fail: { what: '' } },
      { op: 'stat-owner', slot: 2, fail: { what: '' } },
      { op: 'setgid', id: 0, owner: true, fail: { what: '' } },
      { op: 'setuid', id: 4294967295, fail: { what: '' } },
      { op: 'setgroups', afterSwitch: true, fail: { what: '' } },
      { op: 'keep-caps', fail: { capget: 'a', capset: 'b', ambient: 'c' } },
      { op: 'pty', dir: 2, name: 'ptmx', devpts: true, fail: { open: 'o', what: 'w', relay: 'r' } },
      { op: 'exec-login-shell', fallback: '/bin/sh', env: [], targetEnv: true, fail: { what: 'w' } },
    ];
    expect(expectAccepted(encodePlan({ steps }))).toBe(
      'nscp 2\n' +
        'step 0 open soft-denied slot=0 at=cwd how=append path="a\\"b\\\\c\\x01\\x7f" texts=["\\xc3\\xa9"] hint="h"\n' +
        'step 1 pidfd slot=1 pid=2147483647 texts=[""] hint=""\n' +
        'step 2 check-inode pidfd=1 inode=18446744073709551615 texts=["s","w"] hint=""\n' +
        'step 3 setns soft fd=1 mask=user+net+mnt+time texts=[""] hint=""\n' +
        'step 4 environ late fd=0 proc=1 drop=["LD_PRELOAD",""] note="n" texts=["o","g","s"] hint=""\n' +
        'step 5 environ fd=0 proc=none drop=[] note="" texts=["o","g","s"] hint=""\n' +
        'step 6 open slot=2 at=1 how=read path="x" texts=[""] hint=""\n' +
        'step 7 stat-owner slot=2 texts=[""] hint=""\n' +
        'step 8 setgid owner id=0 texts=[""] hint=""\n' +
        'step 9 setuid id=4294967295 texts=[""] hint=""\n' +
        'step 10 setgroups after-switch texts=[""] hint=""\n' +
        'step 11 keep-caps texts=["a","b","c"] hint=""\n' +
        'step 12 pty devpts dir=2 name="ptmx" texts=["o","w","r"] hint=""\n' +
        'step 13 exec-login-shell target-env fallback="/bin/sh" env=[] texts=["w"] hint=""\n' +
        'end\n',
    );
  });
});

describe('the dump of the --host-tools records', () => {
  it('prints each of types 24–29 with its fields', () => {
    const steps: Step[] = [
      { op: 'open-tree', slot: 0, at: 'cwd', path: '/', fail: { what: 'a' } },
      { op: 'open', slot: 1, at: 'cwd', how: 'read', path: '/proc/7/root', fail: { what: '' } },
      { op: 'open-tree', slot: 2, at: 1, path: '', fail: { what: 'b' } },
      { op: 'unshare-mnt', fail: { what: 'c' } },
      { op: 'make-private', path: '/', fail: { what: 'd' } },
      { op: 'move-mount', from: 0, path: '/', fail: { what: 'e' }, hint: 'h' },
      { op: 'mount-proc', path: '/proc', fail: { what: 'f' } },
      { op: 'chdir-in', at: 2, path: 'a/./b..c/...', fail: { what: 'g' } },
      { op: 'exec', file: 'true', argv: ['true'], env: [], fail: { what: 'w' } },
    ];
    expect(expectAccepted(encodePlan({ steps }))).toBe(
      'nscp 2\n' +
        'step 0 open-tree slot=0 at=cwd path="/" texts=["a"] hint=""\n' +
        'step 1 open slot=1 at=cwd how=read path="/proc/7/root" texts=[""] hint=""\n' +
        'step 2 open-tree slot=2 at=1 path="" texts=["b"] hint=""\n' +
        'step 3 unshare-mnt texts=["c"] hint=""\n' +
        'step 4 make-private path="/" texts=["d"] hint=""\n' +
        'step 5 move-mount from=0 path="/" texts=["e"] hint="h"\n' +
        'step 6 mount-proc path="/proc" texts=["f"] hint=""\n' +
        'step 7 chdir-in at=2 path="a/./b..c/..." texts=["g"] hint=""\n' +
        'step 8 exec file="true" argv=["true"] env=[] texts=["w"] hint=""\n' +
        'end\n',
    );
  });
});

// ---- Every rejection ---------------------------------------------------------------------------

describe('validation: every rule, with the same text in both decoders', () => {
  it.each<[string, Uint8Array, string]>([
    ['nothing', new Uint8Array(0), 'header: got 0 of 16 bytes'],
    ['a cut header', header(0).subarray(0, 10), 'header: got 10 of 16 bytes'],
    ['a query to --check', cat(header(0, { magic: 'NSCQ' })), 'header: bad magic (expected NSCP)'],
    ['version 1', header(0, { version: 1 }), 'header: unsupported version 1 (this helper speaks 2)'],
    ['header flags', header(0, { flags: 0x10 }), 'header: flags 0x10 must be 0'],
    ['a body over 8 MiB', header(8 * 1024 * 1024 + 1), 'header: body length 8388609 exceeds 8388608'],
    ['reserved bits', header(0, { reserved: 0xabc }), 'header: reserved field 0xabc must be 0'],
    ['a cut body', cat(header(10), new Uint8Array(3)), 'body: got 3 of 10 bytes'],
    ['bytes after the body', cat(frame(EXEC, END), Uint8Array.of(0)), 'trailing data after the body'],
  ])('header and body: %s', (_, bytes, reason) => expectRejected(bytes, reason));

  it.each<[string, Uint8Array, string]>([
    ['an empty body', frame(), 'body ends after 0 records without END'],
    ['no END', frame(EXEC), 'body ends after 1 records without END'],
    ['a cut record header', cat(header(5), new Uint8Array(5)), 'record 0: only 5 bytes left, a record header needs 8'],
    ['a record longer than the body', frame(cat(u16(1), u16(0), u32(100), u32(0))), 'record 0: length 100 does not fit in the 4 bytes left'],
    ['type 0', frame(rec(0, 0), END), 'record 0: unknown type 0'],
    ['type 99', frame(rec(99, 0), END), 'record 0: unknown type 99'],
    ['a query record in a plan', frame(rec(100, 0, str('x')), END), 'record 0: unknown type 100'],
    ['an unknown flag', frame(step('setns', 2, u32(0, NET)), END), 'record 0 (setns): unknown flag bits 0x2'],
    ['a flag on END', frame(EXEC, rec(1, 1)), 'record 1 (end): unknown flag bits 0x1'],
  ])('records: %s', (_, bytes, reason) => expectRejected(bytes, reason));

  it.each<[string, Uint8Array, string]>([
    ['a cut u32', frame(rec(TYPE('pidfd'), 0), END), 'record 0 (pidfd): slot needs 4 bytes, 0 left'],
    ['a cut u64', frame(OPEN(0), rec(TYPE('check-start'), 0, u32(0), u32(7)), END), 'record 1 (check-start): start needs 8 bytes, 4 left'],
    ['a cut string length', frame(rec(TYPE('chroot'), 0, u16(1)), END), 'record 0 (chroot): path needs 4 bytes, 2 left'],
    ['a cut string', frame(rec(TYPE('chroot'), 0, u32(10), enc.encode('/abc')), END), 'record 0 (chroot): path needs 14 bytes, 8 left'],
    ['a NUL in a string', frame(step('chroot', 0, str('/a\0b')), END), 'record 0 (chroot): NUL byte in path at offset 2'],
    ['a NUL in a list item', frame(step('exec', 0, str('sh'), list('sh', 'a\0'), list()), END), 'record 0 (exec): NUL byte in argv[1] at offset 1'],
    ['a cut list item', frame(rec(TYPE('exec'), 0, str('sh'), u32(2), str('sh')), END), 'record 0 (exec): argv[1] needs 4 bytes, 0 left'],
    [
      'too many strings in one list',
      frame(rec(TYPE('exec'), 0, str('sh'), u32(MAX_LIST_STRINGS + 1)), END),
      'record 0 (exec): argv has 1000001 strings, more than the 1000000 left of the 1000000 allowed',
    ],
    ['a cut failure text', frame(rec(TYPE('fork'), 0), END), 'record 0 (fork): what needs 4 bytes, 0 left'],
    ['a cut third text', frame(rec(TYPE('keep-caps'), 0, str('a'), str('b')), END), 'record 0 (keep-caps): ambient needs 4 bytes, 0 left'],
    ['a cut pty name', frame(OPEN(0), rec(TYPE('pty'), 0, u32(0), u32(4), enc.encode('pt')), END), 'record 1 (pty): name needs 8 bytes, 6 left'],
    ['a pty without its relay text', frame(OPEN(0), rec(TYPE('pty'), 0, u32(0), str('ptmx'), str('o'), str('w')), END), 'record 1 (pty): relay needs 4 bytes, 0 left'],
    ['no hint', frame(rec(TYPE('fork'), 0, str('w')), END), 'record 0 (fork): hint needs 4 bytes, 0 left'],
    ['bytes after the hint', frame(rec(TYPE('fork'), 0, str('w'), str(''), Uint8Array.of(1, 2, 3)), END), 'record 0 (fork): 3 bytes after the last field'],
    ['a payload on END', frame(EXEC, rec(1, 0, u32(0))), 'record 1 (end): 4 bytes after the last field'],
  ])('fields: %s', (_, bytes, reason) => expectRejected(bytes, reason));

  it('counts the strings of all lists together', () => {
    // 600,000 strings in the drop list of one step and 400,001 in another: the second is one too many.
    const drop = (n: number): Uint8Array => cat(u32(n), new Uint8Array(4 * n)); // n empty strings
    const environ = (n: number): Uint8Array => step('environ', 0, u32(0, NONE), drop(n), str(''));
    expectRejected(
      frame(OPEN(0), environ(600_000), environ(400_001), END),
      'record 2 (environ): drop has 400001 strings, more than the 400000 left of the 1000000 allowed',
    );
    // Exactly 1,000,000 with the exec's argv[0].
    expect(expectAccepted(frame(OPEN(0), environ(600_000), environ(399_999), EXEC, END))).toMatch(/^nscp 2\n/);
  }, 60_000);

  it.each<[string, Uint8Array, string]>([
    ['a step after the exec', frame(EXEC, EXEC, END), 'record 1 (exec): only END may follow the exec'],
    ['a step after a login shell', frame(step('exec-login-shell', 0, str('/bin/sh'), list()), step('fork', 0), END), 'record 1 (fork): only END may follow the exec'],
  ])('sequence: %s', (_, bytes, reason) => expectRejected(bytes, reason));

  it('at most 65535 steps', () => {
    const setgroups = step('setgroups', 0);
    const many = (n: number): Uint8Array => cat(...new Array<Uint8Array>(n).fill(setgroups));
    expectRejected(frame(many(65535), EXEC, END), 'record 65535 (exec): more than 65535 steps');
    expect(expectAccepted(frame(many(65534), EXEC, END)).split('\n')).toHaveLength(65538);
  }, 60_000);

  const opens = (n: number): Uint8Array => cat(...Array.from({ length: n }, (_, i) => OPEN(i)));
  it.each<[string, Uint8Array, string]>([
    ['a new slot out of turn', frame(OPEN(1), EXEC, END), 'record 0 (open): slot: new slot 1, expected 0'],
    ['the 65th slot', frame(opens(64), OPEN(64), EXEC, END), 'record 64 (open): slot: slot 64 is beyond the 64-slot limit'],
    ['a huge new slot', frame(OPEN(0xfffffffe), EXEC, END), 'record 0 (open): slot: slot 4294967294 is beyond the 64-slot limit'],
    ['an undefined slot', frame(step('setns', 0, u32(0, NET)), EXEC, END), 'record 0 (setns): fd: slot 0 is not defined (0 defined so far)'],
    ['an undefined base', frame(OPEN(0), step('open', 0, u32(1, 3, 0), str('x')), EXEC, END), 'record 1 (open): at: slot 3 is not defined (1 defined so far)'],
    ['a slot that is its own new slot', frame(step('ns-owner', 0, u32(0, 0)), EXEC, END), 'record 0 (ns-owner): of: slot 0 is not defined (0 defined so far)'],
    ['an undefined proc', frame(OPEN(0), step('environ', 0, u32(0, 5), list(), str('')), EXEC, END), 'record 1 (environ): proc: slot 5 is not defined (1 defined so far)'],
    ['an undefined pty directory', frame(step('pty', 1, u32(0), str('ptmx')), EXEC, END), 'record 0 (pty): dir: slot 0 is not defined (0 defined so far)'],
    ['a soft-denied pty directory', frame(OPEN(0, 1), step('pty', 0, u32(0), str('ptmx')), EXEC, END), 'record 1 (pty): dir: slot 0 may be empty (its open is soft-denied)'],
    ['a soft-denied slot for setns', frame(OPEN(0, 1), step('setns', 0, u32(0, NET)), EXEC, END), 'record 1 (setns): fd: slot 0 may be empty (its open is soft-denied)'],
    ['a soft-denied slot as a base', frame(OPEN(0, 1), step('open', 0, u32(1, 0, 0), str('x')), EXEC, END), 'record 1 (open): at: slot 0 may be empty (its open is soft-denied)'],
    ['a soft-denied proc', frame(OPEN(0, 1), step('environ', 1, u32(0, 0), list(), str('')), EXEC, END), 'record 1 (environ): proc: slot 0 may be empty (its open is soft-denied)'],
    ['a mask of 0', frame(OPEN(0), step('setns', 0, u32(0, 0)), EXEC, END), 'record 1 (setns): mask: mask is 0'],
    ['an unknown mask bit', frame(OPEN(0), step('setns', 0, u32(0, NET | 1)), EXEC, END), 'record 1 (setns): mask: mask 0x40000001 has unknown bits'],
  ])('field rules: %s', (_, bytes, reason) => expectRejected(bytes, reason));

  it('lets environ read a soft-denied slot, and takes cwd and none', () => {
    expectAccepted(frame(OPEN(0, 1), step('environ', 0, u32(0, NONE), list(), str('')), step('open', 0, u32(1, CWD, 1), str('d')), EXEC, END));
  });

  it.each<[string, Uint8Array, string]>([
    ['how 3', frame(step('open', 0, u32(0, CWD, 3), str('/')), EXEC, END), 'record 0 (open): how 3 is not 0, 1 or 2'],
    ['pid 0', frame(step('pidfd', 0, u32(0, 0)), EXEC, END), 'record 0 (pidfd): pid 0 out of range'],
    ['pid 2^31', frame(step('pidfd', 0, u32(0, 0x80000000)), EXEC, END), 'record 0 (pidfd): pid 2147483648 out of range'],
    ['fd 2^31', frame(OPEN(0), step('pidfd-getfd', 0, u32(1, 0, 0x80000000)), EXEC, END), 'record 1 (pidfd-getfd): fd 2147483648 out of range'],
    ['two forks', frame(step('fork', 0), step('fork', 0), EXEC, END), 'record 1 (fork): more than one fork'],
    ['a fork after a pty', frame(OPEN(0), step('pty', 0, u32(0), str('ptmx')), step('fork', 0), EXEC, END), 'record 2 (fork): more than one fork'],
    ['a pty after a fork', frame(OPEN(0), step('fork', 0), step('pty', 1, u32(0), str('ptmx')), EXEC, END), 'record 2 (pty): more than one fork'],
    ['two ptys', frame(OPEN(0), step('pty', 0, u32(0), str('ptmx')), step('pty', 0, u32(0), str('ptmx')), EXEC, END), 'record 2 (pty): more than one fork'],
    ['owner with an id', frame(OPEN(0), step('stat-owner', 0, u32(0)), step('setgid', 1, u32(5)), EXEC, END), 'record 2 (setgid): owner with id 5, expected 0'],
    ['owner without stat-owner', frame(step('setuid', 1, u32(0)), EXEC, END), 'record 0 (setuid): owner without an earlier stat-owner'],
    ['late without proc', frame(OPEN(0), step('environ', 1, u32(0, NONE), list(), str('')), EXEC, END), 'record 1 (environ): late without a proc slot'],
    ['an empty argv', frame(step('exec', 0, str('true'), list(), list()), END), 'record 0 (exec): argv is empty'],
    ['target-env without environ', frame(step('exec', 1, str('true'), list('true'), list()), END), 'record 0 (exec): target-env without an earlier environ'],
    [
      'target-env with env',
      frame(OPEN(0), step('environ', 0, u32(0, NONE), list(), str('')), step('exec-login-shell', 1, str('/bin/sh'), list('A=1')), END),
      'record 2 (exec-login-shell): target-env with 1 env strings',
    ],
    ['chdir-in up and out', frame(OPEN(0), step('chdir-in', 0, u32(0), str('..')), EXEC, END), "record 1 (chdir-in): path has a '..' component"],
    ['chdir-in up in the middle', frame(OPEN(0), step('chdir-in', 0, u32(0), str('a/../../b')), EXEC, END), "record 1 (chdir-in): path has a '..' component"],
    ['chdir-in up at the end', frame(OPEN(0), step('chdir-in', 0, u32(0), str('/a/..')), EXEC, END), "record 1 (chdir-in): path has a '..' component"],
    ['move-mount of no slot', frame(step('move-mount', 0, u32(0), str('/')), EXEC, END), 'record 0 (move-mount): from: slot 0 is not defined (0 defined so far)'],
    ['open-tree out of turn', frame(step('open-tree', 0, u32(3, CWD), str('/')), EXEC, END), 'record 0 (open-tree): slot: new slot 3, expected 0'],
    ['END without an exec', frame(step('fork', 0), END), 'record 1 (end): no exec before END'],
    ['bytes after END', cat(header(4 + EXEC.length + END.length), EXEC, END, u32(0)), 'record 1 (end): 4 bytes after END'],
  ])('type rules: %s', (_, bytes, reason) => expectRejected(bytes, reason));
});

// ---- Frames in `run` ---------------------------------------------------------------------------

describe('run: the frames from the planner', () => {
  it('a valid plan runs; an invalid one is an internal error, exit 1, when the planner exits 0', () => {
    const plan = encodePlan({ steps: [{ op: 'exec', file: 'echo', argv: ['echo', 'ran'], env: ['PATH=/usr/bin:/bin'], fail: { what: 'x' } }] });
    expect(run({ planner: shPlanner({ plan }) })).toStrictEqual({ status: 0, signal: null, stdout: 'ran\n', stderr: '' });
    const cut = plan.subarray(0, plan.length - 1);
    const reason = modelCheck(cut);
    expect(reason.ok).toBe(false);
    expect(run({ planner: shPlanner({ plan: cut }) })).toStrictEqual({
      status: 1,
      signal: null,
      stdout: '',
      stderr: `nsctl: internal error: invalid plan: ${(reason as { reason: string }).reason}\n`,
    });
    expect(run({ planner: shPlanner({ plan: cat(plan, Uint8Array.of(1)) }) }).stderr).toBe('nsctl: internal error: invalid plan: trailing data after the body\n');
  });

  it('a query after the plan is trailing data: the plan is the last frame', () => {
    const plan = encodePlan({ steps: [{ op: 'exec', file: 'true', argv: ['true'], env: [], fail: { what: 'x' } }] });
    expect(run({ planner: shPlanner({ plan: cat(plan, encodeNsFactsQuery(['/proc/self/ns/net'])) }) }).stderr).toBe(
      'nsctl: internal error: invalid plan: trailing data after the body\n',
    );
  });

  const badQueries: [string, Uint8Array][] = [
    ['a cut header', encodeNsFactsQuery([]).subarray(0, 9)],
    ['version 3', cat(enc.encode('NSCQ'), u16(3), u16(0), u32(0), u32(0))],
    ['a body over 64 KiB', cat(enc.encode('NSCQ'), u16(2), u16(0), u32(65537), u32(0))],
    ['a cut body', encodeNsFactsQuery(['/x']).subarray(0, 20)],
    ['a plan record', cat(enc.encode('NSCQ'), u16(2), u16(0), u32(8), u32(0), rec(1, 0))],
    ['a flag', cat(enc.encode('NSCQ'), u16(2), u16(0), u32(13), u32(0), rec(100, 1, str('x')))],
    ['a NUL', cat(enc.encode('NSCQ'), u16(2), u16(0), u32(14), u32(0), rec(100, 0, str('a\0')))],
    ['bytes after the path', cat(enc.encode('NSCQ'), u16(2), u16(0), u32(14), u32(0), rec(100, 0, str('a'), Uint8Array.of(0)))],
    ['65 records', encodeNsFactsQuery(new Array<string>(65).fill('/'))],
  ];
  it.each(badQueries)('an invalid query (%s): both decoders give the same reason, the helper stops', (_, bytes) => {
    const model = decodeQueryFrame(bytes);
    expect(model.ok).toBe(false);
    const reason = (model as { reason: string }).reason;
    expect(run({ planner: shPlanner({ plan: bytes }) })).toStrictEqual({
      status: 1,
      signal: null,
      stdout: '',
      stderr: `nsctl: internal error: invalid query: ${reason}\n`,
    });
  });

  it('the texts of invalid queries', () => {
    expect(badQueries.map(([, bytes]) => (decodeQueryFrame(bytes) as { reason: string }).reason)).toEqual([
      'header: got 9 of 16 bytes',
      'header: unsupported version 3 (this helper speaks 2)',
      'header: body length 65537 exceeds 65536',
      'body: got 4 of 14 bytes',
      'record 0: unknown type 1',
      'record 0 (ns-facts): unknown flag bits 0x1',
      'record 0 (ns-facts): NUL byte in path at offset 1',
      'record 0 (ns-facts): 1 bytes after the last field',
      'more than 64 records',
    ]);
  });

  it('answers ns-facts queries before the plan, and a planner that stops reading does not hang it', () => {
    // Asks, does not read the answer, exits 0: the helper's answer may meet a closed socket.
    const r = run({ planner: nodePlanner(`import { writeSync } from 'node:fs';\nwriteSync(3, Buffer.from(${JSON.stringify([...encodeNsFactsQuery(['/proc/self/ns/net'])])}));\n`) });
    expect(r.signal).toBeNull();
    expect([0, 1]).toContain(r.status);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^(|nsctl: internal error: cannot (answer|read from) the planner: (Broken pipe|Connection reset by peer)\n)$/);
  });

  it.runIf(needs('root'))('answers ns-facts: inode, type, owner and the user namespace\'s ancestors, or the errno', async () => {
    const nested = spawn('unshare', ['-U', 'sleep', '1000'], { stdio: 'ignore' });
    try {
      await until('the nested user namespace exists', () => readlinkSync(`/proc/${nested.pid}/ns/user`) !== readlinkSync('/proc/self/ns/user'));
      const paths = ['/proc/self/ns/net', '/proc/self/ns/user', `/proc/${nested.pid}/ns/user`, '/nonexistent', '/etc/hostname'];
      const planner = nodePlanner(
        [
          "import { readSync, writeSync } from 'node:fs';",
          `writeSync(3, Buffer.from(${JSON.stringify([...encodeNsFactsQuery(paths)])}));`,
          'const read = (n) => { const b = Buffer.alloc(n); for (let got = 0; got < n; ) got += readSync(3, b, got, n - got, null); return b; };',
          'const head = read(16);',
          "process.stdout.write(Buffer.concat([head, read(head.readUInt32LE(8))]).toString('hex'));",
        ].join('\n'),
      );
      const r = run({ planner });
      expect(r).toMatchObject({ status: 0, signal: null, stderr: '' });
      const ino = (path: string): bigint => statSync(path, { bigint: true }).ino;
      const initUser = ino('/proc/self/ns/user'); // the test runs in the initial user namespace
      const none = { ino: 0n, nstype: 0, ownerError: 0, ownerIno: 0n, parents: [] };
      expect(decodeAnswerFrame(Buffer.from(r.stdout, 'hex'))).toStrictEqual([
        { error: 0, ino: ino('/proc/self/ns/net'), nstype: 0x40000000, ownerError: 0, ownerIno: initUser, parents: [] },
        { error: 0, ino: initUser, nstype: 0x10000000, ownerError: constants.errno.EPERM, ownerIno: 0n, parents: [] },
        { error: 0, ino: ino(`/proc/${nested.pid}/ns/user`), nstype: 0x10000000, ownerError: 0, ownerIno: initUser, parents: [initUser] },
        { error: constants.errno.ENOENT, ...none },
        { error: constants.errno.ENOTTY, ...none },
      ]);
    } finally {
      nested.kill('SIGKILL');
    }
  });
});

// ---- exec-context (-Z where SELinux is enabled) ---------------------------------------------------

describe('exec-context', () => {
  const CONTEXT_TEXTS = { get: 'failed to get 42 SELinux context', set: 'failed to set exec context to' };

  it('dumps its slot, its two paths and its two texts', () => {
    const steps: Step[] = [
      { op: 'open', slot: 0, at: 'cwd', how: 'directory', path: '/proc/42', fail: { what: 'w' } },
      { op: 'exec-context', proc: 0, current: 'attr/current', exec: '/proc/thread-self/attr/exec', fail: CONTEXT_TEXTS },
      { op: 'exec', file: 'true', argv: ['true'], env: [], fail: { what: 'x' } },
    ];
    expect(expectAccepted(encodePlan({ steps })).split('\n')[2]).toBe(
      'step 1 exec-context proc=0 current="attr/current" exec="/proc/thread-self/attr/exec" texts=["failed to get 42 SELinux context","failed to set exec context to"] hint=""',
    );
    expect(TYPE('exec-context')).toBe(30);
  });

  const context = (flags: number, ...fields: Uint8Array[]): Uint8Array => step('exec-context', flags, ...fields);
  it.each<[string, Uint8Array, string]>([
    ['type 31', frame(rec(31, 0), END), 'record 0: unknown type 31'],
    ['a flag', frame(OPEN(0), context(1, u32(0), str('c'), str('e')), EXEC, END), 'record 1 (exec-context): unknown flag bits 0x1'],
    ['an undefined proc', frame(context(0, u32(0), str('c'), str('e')), EXEC, END), 'record 0 (exec-context): proc: slot 0 is not defined (0 defined so far)'],
    ['a soft-denied proc', frame(OPEN(0, 1), context(0, u32(0), str('c'), str('e')), EXEC, END), 'record 1 (exec-context): proc: slot 0 may be empty (its open is soft-denied)'],
    ['a cut exec path', frame(OPEN(0), rec(30, 0, u32(0), str('c')), END), 'record 1 (exec-context): exec needs 4 bytes, 0 left'],
    ['a NUL in the current path', frame(OPEN(0), context(0, u32(0), str('a\0'), str('e')), END), 'record 1 (exec-context): NUL byte in current at offset 1'],
    ['a cut set text', frame(OPEN(0), rec(30, 0, u32(0), str('c'), str('e'), str('g')), END), 'record 1 (exec-context): set needs 4 bytes, 0 left'],
    ['after the exec', frame(OPEN(0), EXEC, context(0, u32(0), str('c'), str('e')), END), 'record 2 (exec-context): only END may follow the exec'],
  ])('is refused with %s', (_, bytes, reason) => expectRejected(bytes, reason));
});
