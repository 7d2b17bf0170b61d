// The plan wire format: exact bytes, every rejection rule (TypeScript and helper word for word),
// the error reply, and a few real runs of `nsctl-helper run 3`. Never skipped: the helper must exist.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Plan, Step } from '../../src/plan/plan.ts';
import {
  decodePlan,
  decodeReply,
  decodeWire,
  dumpPlan,
  encodePlan,
  PlanEncodingError,
  RecordType,
  SubOp,
  type HelperReply,
} from '../../src/wire/index.ts';

// NSCTL_TEST_HELPER points the tests at another build (an ASan build, or a qemu wrapper on CI).
const HELPER =
  process.env['NSCTL_TEST_HELPER'] ?? fileURLToPath(new URL(`../../prebuilds/linux-${process.arch}/nsctl-helper`, import.meta.url));
const { ENOENT, EACCES, EINVAL, EBADF, ENOTDIR } = constants.errno;

function check(bytes: Uint8Array): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(HELPER, ['--check'], { input: bytes, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A plan buffer from raw records, so tests can write what the encoder never would. */
type RawRecord = readonly [type: number, flags: number, payload: Uint8Array];

function u32(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
  return out;
}

function str(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function body(records: readonly RawRecord[]): Uint8Array {
  return cat(
    ...records.map(([type, flags, payload]) => {
      const head = new Uint8Array(8);
      const view = new DataView(head.buffer);
      view.setUint16(0, type, true);
      view.setUint16(2, flags, true);
      view.setUint32(4, payload.length, true);
      return cat(head, payload);
    }),
  );
}

function header(bodyLen: number, over: { magic?: string; version?: number; flags?: number; reserved?: number } = {}): Uint8Array {
  const h = new Uint8Array(16);
  const view = new DataView(h.buffer);
  h.set(str(over.magic ?? 'NSCP'), 0);
  view.setUint16(4, over.version ?? 1, true);
  view.setUint16(6, over.flags ?? 0, true);
  view.setUint32(8, bodyLen, true);
  view.setUint32(12, over.reserved ?? 0, true);
  return h;
}

function raw(records: readonly RawRecord[]): Uint8Array {
  const b = body(records);
  return cat(header(b.length), b);
}

const T = RecordType;
const NONE = new Uint8Array(0);
const END: RawRecord = [T.END, 0, NONE];
const ARG_SH: RawRecord = [T.ARG, 0, str('sh')];
const EXEC_SH: RawRecord = [T.EXEC, 0, str('/bin/sh')];
const SLOTS_4_2: RawRecord = [T.SLOTS, 0, u32(4, 2)];
const NET = 0x40000000;

/** Both the TS decoder and the helper must reject `bytes` with exactly this reason. */
function expectRejected(bytes: Uint8Array, reason: string): void {
  expect(decodeWire(bytes)).toStrictEqual({ ok: false, reason });
  expect(check(bytes)).toStrictEqual({ status: 1, signal: null, stdout: '', stderr: `nsctl-helper: invalid plan: ${reason}\n` });
}

describe('the helper binary', () => {
  it('exists for this machine (run scripts/build-helper if not)', () => {
    expect(existsSync(HELPER), HELPER).toBe(true);
  });

  it('prints usage and exits 2 for unknown arguments', () => {
    const r = spawnSync(HELPER, ['frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: nsctl-helper run FD | nsctl-helper --check');
  });

  it.each(['2', '-3', '03', '3x', '', '99999999999'])('refuses run FD %j', (fd) => {
    const r = spawnSync(HELPER, ['run', fd], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('FD must be a decimal number, at least 3');
  });
});

describe('encodePlan', () => {
  it('writes the bytes docs/plan-format.md shows for its example', () => {
    const plan: Plan = {
      files: [{ kind: 'path', path: '/proc/42/ns/net' }],
      steps: [
        { op: 'setns', slot: 0, ns: 'net', soft: true },
        { op: 'exec', file: 'id', argv: ['id'], env: [], searchPath: '/bin' },
      ],
    };
    const hex = Buffer.from(encodePlan(plan, 4)).toString('hex');
    expect(hex).toBe(
      [
        '4e534350 0100 0000 48000000 00000000', // NSCP, version 1, flags 0, body_len 72, reserved 0
        '0200 0000 08000000 04000000 01000000', // SLOTS first_fd=4 count=1
        '0300 0100 08000000 00000000 00000040', // SETNS soft slot 0 CLONE_NEWNET
        '0c00 0000 02000000 6964', // ARG "id"
        '0e00 0000 04000000 2f62696e', // SEARCH_PATH "/bin"
        '0f00 0000 02000000 6964', // EXEC "id"
        '0100 0000 00000000', // END
      ]
        .join('')
        .replaceAll(' ', ''),
    );
    expect(check(encodePlan(plan, 4)).stdout).toBe(
      [
        'nscp 1',
        'slots first_fd=4 count=1',
        'step 0 setns slot=0 nstype=0x40000000 net soft',
        'step 1 exec "id"',
        '  arg "id"',
        '  search-path "/bin"',
        'end',
        '',
      ].join('\n'),
    );
  });

  it('dumps strings with \\" \\\\ and \\xHH escapes, the same in TypeScript and the helper', () => {
    const plan: Plan = {
      files: [],
      steps: [{ op: 'exec', file: 'a"b\\c\n', argv: ['é', '\x7f'], env: ['X= y'], searchPath: undefined }],
    };
    const dump = dumpPlan(plan, 3);
    expect(dump).toContain('step 0 exec "a\\"b\\\\c\\x0a"');
    expect(dump).toContain('  arg "\\xc3\\xa9"\n  arg "\\x7f"\n  env "X= y"\n');
    expect(check(encodePlan(plan, 3)).stdout).toBe(dump);
  });

  const exec: Step = { op: 'exec', file: 'true', argv: ['true'], env: [], searchPath: '/bin' };
  it.each<[string, Plan, RegExp]>([
    ['a NUL in an argument', { files: [], steps: [{ ...exec, argv: ['a\0b'] } as Step] }, /argument contains a NUL/],
    ['a lone surrogate', { files: [], steps: [{ ...exec, file: '\ud800' } as Step] }, /not well-formed Unicode/],
    ['a uid beyond 32 bits', { files: [], steps: [{ op: 'setuid', uid: 2 ** 32 }, exec] }, /is not a u32/],
    ['a negative gid', { files: [], steps: [{ op: 'setgid', gid: -1 }, exec] }, /is not a u32/],
  ])('refuses %s with PlanEncodingError', (_name, plan, message) => {
    expect(() => encodePlan(plan, 3)).toThrow(PlanEncodingError);
    expect(() => encodePlan(plan, 3)).toThrow(message);
  });

  // Well-formed bytes of a plan that breaks the helper's rules: the encoder writes them (it does not
  // re-decode on every run, issue 6), and the helper's own check refuses them before acting.
  it.each<[string, Plan, RegExp]>([
    ['no exec at all', { files: [], steps: [{ op: 'fork' }] }, /body ends after 2 records without END|no EXEC/],
    ['a step after exec', { files: [], steps: [exec, { op: 'fork' }] }, /only END may follow EXEC/],
    ['an undefined slot', { files: [], steps: [{ op: 'chdir', slot: 0 }, exec] }, /slot 0 is not defined/],
    ['17 inherited files', { files: Array(17).fill({ kind: 'path', path: 'x' }), steps: [exec] }, /count 17 exceeds 16/],
  ])('writes %s, which the helper and decodeWire both refuse', (_name, plan, message) => {
    const bytes = encodePlan(plan, 3);
    const helper = check(bytes);
    expect(helper.status).not.toBe(0);
    expect(helper.stderr).toMatch(message);
    const decoded = decodeWire(bytes);
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.reason).toMatch(message);
  });
});

describe('decoding: the helper and TypeScript reject the same things with the same words', () => {
  const ok = raw([ARG_SH, EXEC_SH, END]);

  it('accepts the smallest plan: ARG, EXEC, END with no SLOTS record', () => {
    expect(decodePlan(ok)).toStrictEqual({
      ok: true,
      plan: { firstFd: undefined, slotCount: 0, steps: [{ op: 'exec', file: '/bin/sh', argv: ['sh'], env: [], searchPath: undefined }] },
    });
    expect(check(ok)).toMatchObject({ status: 0, stdout: 'nscp 1\nstep 0 exec "/bin/sh"\n  arg "sh"\nend\n' });
  });

  const b = body([ARG_SH, EXEC_SH, END]);
  it.each<[string, Uint8Array, string]>([
    ['an empty input', NONE, 'header: got 0 of 16 bytes'],
    ['a short header', ok.subarray(0, 15), 'header: got 15 of 16 bytes'],
    ['a bad magic', cat(header(b.length, { magic: 'NSCQ' }), b), 'header: bad magic (expected NSCP)'],
    ['version 2', cat(header(b.length, { version: 2 }), b), 'header: unsupported version 2 (this helper speaks 1)'],
    ['header flags', cat(header(b.length, { flags: 0x10 }), b), 'header: flags 0x10 must be 0'],
    ['a body over 8 MiB', header(8 * 1024 * 1024 + 1), 'header: body length 8388609 exceeds 8388608'],
    ['a reserved field', cat(header(b.length, { reserved: 0xabc }), b), 'header: reserved field 0xabc must be 0'],
    ['a short body', ok.subarray(0, ok.length - 1), `body: got ${b.length - 1} of ${b.length} bytes`],
    ['trailing bytes', cat(ok, new Uint8Array(1)), 'trailing data after the body'],
    ['an empty body', header(0), 'body ends after 0 records without END'],
    ['no END', raw([ARG_SH, EXEC_SH]), 'body ends after 2 records without END'],
    ['a torn record header', cat(header(4), new Uint8Array(4)), 'record 0: only 4 bytes left, a record header needs 8'],
    ['a record longer than the body', cat(header(9), new Uint8Array([T.ARG, 0, 0, 0, 9, 0, 0, 0, 0x61])), 'record 0: length 9 does not fit in the 1 bytes left'],
    ['type 0', raw([[0, 0, NONE]]), 'record 0: unknown type 0'],
    ['type 23 (one past the last)', raw([[23, 0, NONE]]), 'record 0: unknown type 23'],
    ['an unknown flag bit', raw([[T.SETNS, 2, u32(0, NET)]]), 'record 0 (setns): unknown flag bits 0x2'],
    ['a wrong fixed length', raw([[T.SETGID, 0, u32(0, 0)]]), 'record 0 (setgid): length 8, expected 4'],
    ['a short OPEN_LATE', raw([[T.OPEN_LATE, 0, new Uint8Array(3)]]), 'record 0 (open-late): length 3, expected at least 4'],
    ['a NUL in a string', raw([[T.ARG, 0, str('a\0b')]]), 'record 0 (arg): NUL byte in string at offset 1'],
    ['a NUL in an OPEN_LATE path', raw([[T.OPEN_LATE, 0, cat(u32(0), str('/x\0'))]]), 'record 0 (open-late): NUL byte in string at offset 2'],
    ['SLOTS twice', raw([SLOTS_4_2, SLOTS_4_2]), 'record 1 (slots): SLOTS must be the first record'],
    ['SLOTS after a step', raw([[T.FORK, 0, NONE], SLOTS_4_2]), 'record 1 (slots): SLOTS must be the first record'],
    ['17 inherited slots', raw([[T.SLOTS, 0, u32(3, 17)]]), 'record 0 (slots): count 17 exceeds 16'],
    ['first_fd 2', raw([[T.SLOTS, 0, u32(2, 0)]]), 'record 0 (slots): first_fd 2 is below 3'],
    ['fds beyond nr_open', raw([[T.SLOTS, 0, u32(1048570, 7)]]), 'record 0 (slots): first_fd 1048570 is too large'],
    ['an undefined slot', raw([SLOTS_4_2, [T.SETNS, 0, u32(2, NET)]]), 'record 1 (setns): slot 2 is not defined (2 defined so far)'],
    ['an unknown nstype', raw([SLOTS_4_2, [T.SETNS, 0, u32(0, 0x100)]]), 'record 1 (setns): unknown nstype 0x100'],
    ['nstype 0', raw([SLOTS_4_2, [T.SETNS, 1, u32(0, 0)]]), 'record 1 (setns): unknown nstype 0x0'],
    ['a slot used after CHDIR', raw([SLOTS_4_2, [T.CHDIR, 0, u32(1)], [T.SETNS, 0, u32(1, NET)]]), 'record 2 (setns): slot 1 was closed by an earlier CHROOT or CHDIR'],
    ['a slot used after CHROOT', raw([SLOTS_4_2, [T.CHROOT, 0, u32(0)], [T.CHDIR, 0, u32(0)]]), 'record 2 (chdir): slot 0 was closed by an earlier CHROOT or CHDIR'],
    ['a new slot out of turn', raw([SLOTS_4_2, [T.SAVE_CWD, 0, u32(3)]]), 'record 1 (save-cwd): new slot 3, expected 2'],
    ['a new slot reusing one', raw([SLOTS_4_2, [T.OPEN_LATE, 0, u32(1)]]), 'record 1 (open-late): new slot 1, expected 2'],
    ['slot 32', raw([[T.SLOTS, 0, u32(3, 16)], ...Array.from({ length: 17 }, (_, i): RawRecord => [T.SAVE_CWD, 0, u32(16 + i)])]), 'record 17 (save-cwd): slot 32 is beyond the 32-slot limit'],
    ['FORK twice', raw([[T.FORK, 0, NONE], [T.FORK, 0, NONE]]), 'record 1 (fork): more than one FORK'],
    ['a step after ARG', raw([ARG_SH, [T.FORK, 0, NONE]]), 'record 1 (fork): a step cannot follow ARG, ENV or SEARCH_PATH'],
    ['ARG after ENV', raw([[T.ENV, 0, str('A=1')], ARG_SH]), 'record 1 (arg): ARG after ENV or SEARCH_PATH'],
    ['ENV after SEARCH_PATH', raw([[T.SEARCH_PATH, 0, NONE], [T.ENV, 0, NONE]]), 'record 1 (env): ENV after SEARCH_PATH'],
    ['SEARCH_PATH twice', raw([[T.SEARCH_PATH, 0, NONE], [T.SEARCH_PATH, 0, NONE]]), 'record 1 (search-path): more than one SEARCH_PATH'],
    ['EXEC without ARG', raw([EXEC_SH, END]), 'record 0 (exec): no ARG records (argv[0] is required)'],
    ['EXEC_LOGIN_SHELL with ARG', raw([ARG_SH, [T.EXEC_LOGIN_SHELL, 0, str('/bin/sh')]]), 'record 1 (exec-login-shell): ARG records are not allowed'],
    ['EXEC_LOGIN_SHELL with SEARCH_PATH', raw([[T.SEARCH_PATH, 0, NONE], [T.EXEC_LOGIN_SHELL, 0, NONE]]), 'record 1 (exec-login-shell): SEARCH_PATH is not allowed'],
    ['two EXECs', raw([ARG_SH, EXEC_SH, EXEC_SH, END]), 'record 2 (exec): only END may follow EXEC'],
    ['ARG after EXEC', raw([ARG_SH, EXEC_SH, ARG_SH, END]), 'record 2 (arg): only END may follow EXEC'],
    ['END first', raw([END]), 'record 0 (end): no EXEC or EXEC_LOGIN_SHELL before END'],
    ['a record after END', raw([ARG_SH, EXEC_SH, END, END]), 'record 2 (end): 8 bytes after END'],
  ])('rejects %s', (_name, bytes, reason) => {
    expectRejected(bytes, reason);
  });

  it('accepts 999,999 ENV records plus one ARG and rejects one more', () => {
    const env = new Uint8Array(999_999 * 8).map((_, i) => (i % 8 === 0 ? T.ENV : 0));
    const withEnv = (extra: readonly RawRecord[]): Uint8Array => {
      const b1 = body([ARG_SH]);
      const b2 = body([...extra, EXEC_SH, END]);
      return cat(header(b1.length + env.length + b2.length), b1, env, b2);
    };
    const ok1m = withEnv([]);
    expect(decodeWire(ok1m).ok).toBe(true);
    expect(check(ok1m).status).toBe(0);
    expectRejected(withEnv([[T.ENV, 0, NONE]]), 'record 1000000 (env): more than 1000000 ARG and ENV records');
  });

  it('accepts 65,535 steps and rejects the 65,536th', () => {
    const plan = (n: number): Uint8Array => raw([...Array.from({ length: n }, (): RawRecord => [T.SETGROUPS, 0, NONE]), ARG_SH, EXEC_SH, END]);
    expect(check(plan(65_534))).toMatchObject({ status: 0 });
    expectRejected(plan(65_535), 'record 65536 (exec): more than 65535 steps');
  });

  it('accepts a body of exactly 8 MiB', () => {
    const big = new Uint8Array(8 * 1024 * 1024 - 3 * 8 - 9).fill(0x61);
    const bytes = raw([[T.ARG, 0, big], [T.EXEC, 0, str('/bin/true')], END]);
    expect(bytes.length).toBe(16 + 8 * 1024 * 1024);
    expect(decodeWire(bytes).ok).toBe(true);
    expect(check(bytes).status).toBe(0);
  });
});

describe('decodeReply', () => {
  const reply = (step: number, subOp: number, errno: number, msg = ''): Uint8Array => {
    const h = new Uint8Array(16);
    const view = new DataView(h.buffer);
    h.set(str('NSCE'));
    view.setUint16(4, step, true);
    view.setUint16(6, subOp, true);
    view.setInt32(8, errno, true);
    view.setUint32(12, str(msg).length, true);
    return cat(h, str(msg));
  };
  it.each<[string, Uint8Array, HelperReply]>([
    ['nothing (exec happened)', NONE, { kind: 'none' }],
    ['a failed step', reply(3, SubOp.CHROOT_CHROOT, 1), { kind: 'step-failed', step: 3, subOp: 2, errno: 1 }],
    ['a failed login shell, with its path', reply(5, 0, 2, '/bin/zsh'), { kind: 'step-failed', step: 5, subOp: 0, errno: 2, detail: '/bin/zsh' }],
    ['a message with no step', reply(0xffff, 0, 2, 'x'), { kind: 'malformed', reason: 'unexpected reply step 65535 sub-op 0' }],
    ['an invalid plan', reply(0xffff, 0xffff, 22, 'record 0: unknown type 0'), { kind: 'invalid-plan', errno: 22, message: 'record 0: unknown type 0' }],
    ['a set-up failure', reply(0xffff, 0xfffe, 1, 'prctl(PR_SET_DUMPABLE)'), { kind: 'setup-failed', errno: 1, message: 'prctl(PR_SET_DUMPABLE)' }],
    ['a short reply', reply(1, 0, 2).subarray(0, 15), { kind: 'malformed', reason: 'reply of 15 bytes, need 16' }],
    ['a bad magic', cat(str('NSCX'), reply(1, 0, 2).subarray(4)), { kind: 'malformed', reason: 'reply does not start with NSCE' }],
    ['a missing message', reply(0xffff, 0xffff, 22, 'abc').subarray(0, 18), { kind: 'malformed', reason: 'reply of 18 bytes, header says 19' }],
  ])('decodes %s', (_name, bytes, expected) => {
    expect(decodeReply(bytes)).toStrictEqual(expected);
  });
});

// ---- Real runs: `nsctl-helper run 3`, the plan on a Node 'pipe' (an AF_UNIX socket) -------------

interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly reply: HelperReply;
}

const scratch = mkdtempSync(join(tmpdir(), 'nsctl-wire-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(bytes: Uint8Array, opts: { fds?: readonly number[]; stdin?: string; cwd?: string } = {}): Promise<RunResult> {
  const child = spawn(HELPER, ['run', '3'], {
    stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', 'pipe', ...(opts.fds ?? [])],
    cwd: opts.cwd,
  });
  const channel = child.stdio[3] as Socket;
  const chunks: Buffer[] = [];
  channel.on('data', (c: Buffer) => chunks.push(c));
  const channelDone = new Promise<void>((resolve) => channel.on('close', () => resolve()));
  channel.on('error', () => undefined); // the helper may exit before reading everything
  channel.end(bytes);
  if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  await channelDone;
  return { status, signal, stdout, stderr, reply: decodeReply(Buffer.concat(chunks)) };
}

const execStep = (file: string, argv: readonly string[], searchPath: string | undefined = '/usr/bin:/bin'): Step => ({
  op: 'exec',
  file,
  argv,
  env: ['PATH=/usr/bin:/bin'],
  searchPath,
});

describe('nsctl-helper run 3', () => {
  it('runs /bin/echo found through SEARCH_PATH, and sends no reply', async () => {
    const r = await run(encodePlan({ files: [], steps: [execStep('echo', ['echo', 'hi'])] }, 4));
    expect(r).toStrictEqual({ status: 0, signal: null, stdout: 'hi\n', stderr: '', reply: { kind: 'none' } });
  });

  it('exits 127 with ENOENT in the reply when the program does not exist', async () => {
    const r = await run(encodePlan({ files: [], steps: [{ op: 'setgroups', attempt: 'before-switch' }, execStep('no-such-program-nsctl', ['x'])] }, 4));
    expect(r).toMatchObject({ status: 127, signal: null, reply: { kind: 'step-failed', step: 1, subOp: 0, errno: ENOENT } });
  });

  it('exits 126 with EACCES for a file that is not executable, found or not', async () => {
    writeFileSync(join(scratch, 'noexec'), 'echo no\n', { mode: 0o644 });
    const direct = await run(encodePlan({ files: [], steps: [execStep(join(scratch, 'noexec'), ['x'])] }, 4));
    expect(direct).toMatchObject({ status: 126, reply: { kind: 'step-failed', step: 0, errno: EACCES } });
    const searched = await run(encodePlan({ files: [], steps: [execStep('noexec', ['x'], `/nonexistent:${scratch}:/bin`)] }, 4));
    expect(searched).toMatchObject({ status: 126, reply: { kind: 'step-failed', step: 0, errno: EACCES } });
  });

  it('runs a script without #! through /bin/sh, and finds it in the cwd for an empty PATH element', async () => {
    writeFileSync(join(scratch, 'script'), 'echo "script $0 $1"\n');
    chmodSync(join(scratch, 'script'), 0o755);
    const r = await run(encodePlan({ files: [], steps: [execStep('script', ['argv0', 'one'], '/nonexistent:')] }, 4), { cwd: scratch });
    expect(r).toMatchObject({ status: 0, stdout: 'script script one\n', reply: { kind: 'none' } });
  });

  it('replies invalid-plan and exits 125 for a bad plan, with the TypeScript reason', async () => {
    const bytes = raw([[T.FORK, 0, NONE], [T.FORK, 0, NONE]]);
    const r = await run(bytes);
    expect(r).toMatchObject({
      status: 125,
      reply: { kind: 'invalid-plan', errno: EINVAL, message: 'record 1 (fork): more than one FORK' },
    });
  });

  it('replies invalid-plan with EBADF when an inherited slot is not open', async () => {
    const r = await run(encodePlan({ files: [{ kind: 'path', path: 'x' }], steps: [execStep('true', ['true'])] }, 9));
    expect(r).toMatchObject({ status: 125, reply: { kind: 'invalid-plan', errno: EBADF, message: 'slot 0: fd 9 is not open' } });
  });

  it('joins a namespace through an inherited slot, and reports the step when nstype is wrong', async () => {
    const fd = openSync('/proc/self/ns/uts', 'r');
    try {
      const files = [{ kind: 'path', path: '/proc/self/ns/uts' }] as const;
      const good = await run(encodePlan({ files, steps: [{ op: 'setns', slot: 0, ns: 'uts', soft: false }, execStep('true', ['true'])] }, 4), { fds: [fd] });
      expect(good).toMatchObject({ status: 0, reply: { kind: 'none' } });
      const wrong = await run(encodePlan({ files, steps: [{ op: 'setns', slot: 0, ns: 'net', soft: false }, execStep('true', ['true'])] }, 4), { fds: [fd] });
      expect(wrong).toMatchObject({ status: 1, reply: { kind: 'step-failed', step: 0, subOp: 0, errno: EINVAL } });
      const soft = await run(encodePlan({ files, steps: [{ op: 'setns', slot: 0, ns: 'net', soft: true }, execStep('true', ['true'])] }, 4), { fds: [fd] });
      expect(soft).toMatchObject({ status: 0, reply: { kind: 'none' } });
    } finally {
      closeSync(fd);
    }
  });

  it('names the chroot sub-operation that failed', async () => {
    const fd = openSync('/etc/hostname', 'r');
    try {
      const plan: Plan = { files: [{ kind: 'path', path: '/etc/hostname' }], steps: [{ op: 'chroot', slot: 0 }, execStep('true', ['true'])] };
      const r = await run(encodePlan(plan, 4), { fds: [fd] });
      expect(r).toMatchObject({ status: 1, reply: { kind: 'step-failed', step: 0, subOp: SubOp.CHROOT_FCHDIR, errno: ENOTDIR } });
    } finally {
      closeSync(fd);
    }
  });

  it('after FORK mirrors the exit code of the child', async () => {
    const r = await run(encodePlan({ files: [], steps: [{ op: 'fork' }, execStep('sh', ['sh', '-c', 'exit 7'])] }, 4));
    expect(r).toMatchObject({ status: 7, signal: null, reply: { kind: 'none' } });
  });

  it('after FORK dies by the signal that killed the child', async () => {
    const r = await run(encodePlan({ files: [], steps: [{ op: 'fork' }, execStep('sh', ['sh', '-c', 'kill -TERM $$'])] }, 4));
    expect(r).toMatchObject({ status: null, signal: 'SIGTERM' });
  });

  it('after FORK passes SIGTERM sent to the parent on to the child (nsenter does not)', async () => {
    const child = spawn(HELPER, ['run', '3'], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    (child.stdio[3] as Socket).end(encodePlan({ files: [], steps: [{ op: 'fork' }, execStep('sh', ['sh', '-c', 'echo $$; exec sleep 30'])] }, 4));
    const grandchild = await new Promise<number>((resolve) => child.stdout?.once('data', (c: Buffer) => resolve(Number(c.toString()))));
    const done = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
    child.kill('SIGTERM');
    expect(await done).toStrictEqual([null, 'SIGTERM']); // the sleep died of it, and the parent mirrored that
    expect(() => process.kill(grandchild, 0)).toThrow();
  });

  it('after FORK stops when the child stops, and continues it when continued', async () => {
    const child = spawn(HELPER, ['run', '3'], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    const script = 'kill -STOP $$; echo resumed';
    (child.stdio[3] as Socket).end(encodePlan({ files: [], steps: [{ op: 'fork' }, execStep('sh', ['sh', '-c', script])] }, 4));
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const state = (): string => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '?';
    for (let i = 0; i < 200 && state() !== 'T'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(state()).toBe('T');
    expect(out).toBe('');
    child.kill('SIGCONT');
    expect(await done).toBe(0);
    expect(out).toBe('resumed\n');
  });

  it('after FORK the child reports a failed exec and the parent passes on 127', async () => {
    const r = await run(encodePlan({ files: [], steps: [{ op: 'fork' }, execStep('no-such-program-nsctl', ['x'])] }, 4));
    expect(r).toMatchObject({ status: 127, reply: { kind: 'step-failed', step: 1, errno: ENOENT } });
  });

  it('starts the passwd shell of the current uid as a login shell, or the fallback', async () => {
    const passwd = spawnSync('getent', ['passwd', String(process.getuid?.() ?? 0)], { encoding: 'utf8' }).stdout.trim();
    const shell = passwd.split(':')[6] || '/bin/sh';
    const r = await run(encodePlan({ files: [], steps: [{ op: 'exec-login-shell', fallback: '/nonexistent', env: ['A=from-plan'] }] }, 4), {
      stdin: 'echo "$0 $A"\n',
    });
    expect(r).toMatchObject({ status: 0, stdout: `-${shell.split('/').pop()} from-plan\n`, reply: { kind: 'none' } });
  });
});
