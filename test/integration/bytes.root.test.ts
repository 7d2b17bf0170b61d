// Arguments, environment entries and paths that are not UTF-8 reach the program, the kernel and
// the messages with their bytes unchanged, exactly as with nsenter (src/kernel/bytes.ts). Node
// alone would have replaced each such byte by U+FFFD's three.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { tempDir } from '../support/pack.ts';
import { NSCTL, NSENTER, startTarget, type Target } from '../support/targets.ts';

const DIR = Buffer.from('/tmp/nsctl-bytes-\xfe\x80', 'latin1');

/**
 * Runs a bash command line twice, with $NS set to nsctl and then to nsenter; bash's $'\xff'
 * quoting is how the bytes get into argv and the environment (Node's spawn only passes UTF-8).
 * Output is compared as bytes; the program's name in stderr is unified.
 */
function both(commandLine: string): { nsctl: Ran; nsenter: Ran } {
  const run = (program: string): Ran => {
    const result = spawnSync('bash', ['-c', `NS=${program}; ${commandLine}`], { timeout: 20_000 });
    if (result.error) throw result.error;
    const stderr = Buffer.from(result.stderr.toString('latin1').replace(/^(nsctl|nsenter): /gm, 'PROG: '), 'latin1');
    return { status: result.status, stdout: result.stdout.toString('hex'), stderr: stderr.toString('hex') };
  };
  return { nsctl: run(NSCTL), nsenter: run(NSENTER) };
}

interface Ran {
  readonly status: number | null;
  readonly stdout: string; // hex, so a difference shows byte by byte
  readonly stderr: string;
}

describe.runIf(needs('root'))('bytes that are not UTF-8, compared with nsenter byte for byte', () => {
  let target: Target;
  let P: string;
  beforeAll(async () => {
    mkdirSync(DIR, { recursive: true });
    target = await startTarget({ unshare: ['-m', '-u'], setup: `export TARGETVAR="$(printf 'x\\377y')"` });
    P = String(target.pid);
  });
  afterAll(() => {
    target.kill();
    rmSync(DIR, { recursive: true, force: true });
  });

  it.each([
    ['in the program\'s arguments', `"$NS" -t $P -u printf '%s|' $'a\\xffb' $'\\xed\\xa0\\x80' $'\\xe2\\x82A' é`],
    ['in the program\'s name, when it cannot be run', `"$NS" -t $P -u $'/no/such\\xff'`],
    ['in a caller\'s environment value', `X=$'v\\xfe' "$NS" -t $P -u sh -c 'printf %s "$X"'`],
    ['in a caller\'s environment of 100 KB (read from /proc in pieces)', `X=$'v\\xfe'$(head -c 100000 /dev/zero | tr '\\0' a) "$NS" -t $P -u sh -c 'printf %s "$X" | sha256sum'`],
    ['in a --wd path that exists', `"$NS" -t $P -u --wd=$'/tmp/nsctl-bytes-\\xfe\\x80' pwd`],
    ['in a --wd path that does not', `"$NS" -t $P -u --wd=$'/tmp/nsctl-bytes-\\xff' true`],
    ['in a namespace file path (--uts=…)', `"$NS" --uts=$'/proc/'$P$'/ns/uts\\xff' true`],
  ])('%s', (_where, commandLine) => {
    const { nsctl, nsenter } = both(commandLine.replaceAll('$P', P));
    expect(nsctl).toEqual(nsenter);
    // The bytes made it through: the output holds none of U+FFFD's bytes (ef bf bd).
    expect(nsctl.stdout + nsctl.stderr).not.toMatch(/^(..)*efbfbd/);
  });

  it('gets the same bytes from an argument attached in a cluster of options', () => {
    const { nsctl, nsenter } = both(`"$NS" -t${P} -u -Fw$'/tmp/nsctl-bytes-\\xfe\\x80' pwd`);
    expect(nsctl).toEqual(nsenter);
    expect(Buffer.from(nsctl.stdout, 'hex')).toEqual(Buffer.concat([DIR, Buffer.from('\n')]));
  });

  // nsenter 2.38.1 has no -e (2.42 does, and passes the bytes on): checked against the bytes.
  it('passes the target\'s environment on with its bytes (-e)', () => {
    const result = spawnSync('bash', ['-c', `${NSCTL} -t ${P} -u -e sh -c 'printf %s "$TARGETVAR"'`], { timeout: 20_000 });
    expect({ status: result.status, stderr: result.stderr.toString() }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toEqual(Buffer.from([0x78, 0xff, 0x79]));
  });

  // bin/nsctl's sh line must not leave its own variables in the caller's environment: its loop runs
  // in a subshell. `_` is exported by the caller's shell, so it was always hit before.
  it('hands the caller\'s variables on even when they share a name with the launcher\'s', () => {
    const vars = `f=$'F\\xff' n=N fds=FDS flags=FLAGS`;
    const { nsctl, nsenter } = both(`${vars} "$NS" -t ${P} -u sh -c 'printf "%s|" "$f" "$n" "$fds" "$flags"'`);
    expect(nsctl).toEqual(nsenter);
    const underscore = spawnSync('bash', ['-c', `${NSCTL} -t ${P} -u env`], { encoding: 'utf8' }).stdout;
    expect(underscore.split('\n').filter((line) => line.startsWith('_='))).toEqual([`_=${NSCTL}`]);
  });

  // nsenter 2.38.1 has no passwd lookup (2.42 does): checked against 2.42's sentence, except that
  // the target wrote this path, so its bytes are escaped, never written raw to the terminal.
  it('names the passwd shell it could not execute, escaped (the target wrote it)', () => {
    const root = tempDir('passwd');
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/passwd'), Buffer.from('root:x:0:0:root:/:/no/such/shell\xff\n', 'latin1'));
    const result = spawnSync('env', ['-u', 'SHELL', NSCTL, '-t', P, '-u', `--root=${root}`], { timeout: 20_000 });
    expect({ status: result.status, stdout: result.stdout.toString() }).toEqual({ status: 127, stdout: '' });
    expect(result.stderr.toString('latin1')).toBe('nsctl: failed to execute /no/such/shell\\xff: No such file or directory\n');
  });
});
