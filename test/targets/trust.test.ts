// The rules of src/targets/trust.ts — whose files a resolver believes — as a pure function over
// generated owners and modes, and on real files of the user running the tests: group- or
// world-writable directories, a FIFO, a symbolic link, an oversized file, a sticky directory.
// The attacks themselves, as another user, are in test/targets/forged-state.root.test.ts.
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { monitorNamesContainer, parseStorageConf } from '../../src/targets/parsers.ts';
import { parseStatusIds } from '../../src/targets/proc.ts';
import { entryDistrust, newTrust, STATE_FILE_MAX, type EntryFacts } from '../../src/targets/trust.ts';
import { needs } from '../support/gate.ts';
import { tempDir } from '../support/pack.ts';

const me = process.geteuid!();

describe('entryDistrust: whose entries are believed', () => {
  const facts = fc.record({
    uid: fc.constantFrom(0, 1000, 1001, 65534),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    type: fc.constantFrom<EntryFacts['type']>('directory', 'file', 'socket', 'symlink', 'other'),
  });
  const role = fc.constantFrom('ancestor', 'directory', 'file', 'socket') as fc.Arbitrary<'ancestor' | 'directory' | 'file' | 'socket'>;

  it('believes exactly: root or the caller, the right type, writable by nobody else (sockets aside, sticky root ancestors aside)', () => {
    fc.assert(
      fc.property(facts, role, fc.constantFrom(0, 1000), (entry, as, caller) => {
        const owner = entry.uid === 0 || entry.uid === caller;
        const type = entry.type === (as === 'ancestor' ? 'directory' : as);
        const unwritable = (entry.mode & 0o022) === 0 || as === 'socket' || (as === 'ancestor' && entry.uid === 0 && (entry.mode & 0o1000) !== 0);
        expect(entryDistrust({ ...entry, mode: entry.mode }, as, caller) === undefined).toBe(owner && type && unwritable);
      }),
    );
  });

  it('says why, owner first', () => {
    expect(entryDistrust({ uid: 1000, mode: 0o755, type: 'directory' }, 'directory', 0)).toBe('owned by uid 1000, not root');
    expect(entryDistrust({ uid: 1001, mode: 0o755, type: 'directory' }, 'directory', 1000)).toBe('owned by uid 1001, not root or uid 1000');
    expect(entryDistrust({ uid: 0, mode: 0o775, type: 'directory' }, 'directory', 0)).toBe('writable by its group (mode 0775)');
    expect(entryDistrust({ uid: 0, mode: 0o1777, type: 'directory' }, 'directory', 0)).toBe('writable by others (mode 1777)');
    expect(entryDistrust({ uid: 0, mode: 0o1777, type: 'directory' }, 'ancestor', 0)).toBeUndefined();
    expect(entryDistrust({ uid: 1000, mode: 0o1777, type: 'directory' }, 'ancestor', 1000)).toBe('writable by others (mode 1777)');
    expect(entryDistrust({ uid: 0, mode: 0o660, type: 'socket' }, 'socket', 0)).toBeUndefined();
    expect(entryDistrust({ uid: 0, mode: 0o644, type: 'other' }, 'file', 0)).toBe('not a regular file');
  });
});

describe('a Trust on real files (the caller owns them)', () => {
  const base = mkdtempSync(join(tmpdir(), 'nsctl-trust-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('reads the caller\'s own state, and refuses it once group or others could write a directory above', () => {
    mkdirSync(`${base}/state/sub`, { recursive: true, mode: 0o755 });
    chmodSync(`${base}/state`, 0o755);
    writeFileSync(`${base}/state/sub/init.pid`, '42\n', { mode: 0o644 });
    expect(newTrust(me).readFile(`${base}/state/sub/init.pid`)).toBe('42\n');
    for (const [mode, who] of [[0o775, 'its group'], [0o757, 'others']] as const) {
      chmodSync(`${base}/state`, mode);
      const trust = newTrust(me);
      expect(trust.readFile(`${base}/state/sub/init.pid`)).toBeUndefined();
      expect(trust.listDir(`${base}/state/sub`)).toEqual([]);
      expect(trust.ignored).toEqual([
        { source: `${base}/state/sub/init.pid`, reason: `${base}/state is writable by ${who} (mode 0${mode.toString(8)})` },
        { source: `${base}/state/sub`, reason: `${base}/state is writable by ${who} (mode 0${mode.toString(8)})` },
      ]);
    }
    chmodSync(`${base}/state`, 0o755);
    chmodSync(`${base}/state/sub/init.pid`, 0o646);
    const trust = newTrust(me);
    expect(trust.readFile(`${base}/state/sub/init.pid`)).toBeUndefined();
    expect(trust.ignored).toEqual([{ source: `${base}/state/sub/init.pid`, reason: `${base}/state/sub/init.pid is writable by others (mode 0646)` }]);
  });

  it('never blocks on a FIFO, refuses an oversized file, and judges what a symbolic link leads to', () => {
    mkdirSync(`${base}/odd`, { mode: 0o755 });
    execFileSync('mkfifo', [`${base}/odd/fifo`]);
    const fifo = newTrust(me);
    expect(fifo.readFile(`${base}/odd/fifo`)).toBeUndefined();
    expect(fifo.ignored).toEqual([{ source: `${base}/odd/fifo`, reason: `${base}/odd/fifo is not a regular file` }]);
    writeFileSync(`${base}/odd/big`, '');
    truncateSync(`${base}/odd/big`, STATE_FILE_MAX + 1);
    const big = newTrust(me);
    expect(big.readFile(`${base}/odd/big`)).toBeUndefined();
    expect(big.ignored).toEqual([{ source: `${base}/odd/big`, reason: `${base}/odd/big is larger than ${STATE_FILE_MAX} bytes` }]);
    // A link into a writable directory is judged by where it leads.
    mkdirSync(`${base}/open`, { mode: 0o777 });
    chmodSync(`${base}/open`, 0o777);
    writeFileSync(`${base}/open/pid`, '7', { mode: 0o644 });
    symlinkSync(`${base}/open/pid`, `${base}/odd/link`);
    const link = newTrust(me);
    expect(link.readFile(`${base}/odd/link`)).toBeUndefined();
    expect(link.ignored).toEqual([{ source: `${base}/odd/link`, reason: `${base}/open is writable by others (mode 0777)` }]);
  });

  it.runIf(needs('root'))('lets a sticky directory of root\'s lead to a source, but not be one', () => {
    const inTmp = tempDir('trust-sticky');
    const trust = newTrust(0);
    expect(trust.isDirectory(inTmp)).toBe(true);
    expect(trust.isDirectory('/tmp')).toBe(false);
    expect(trust.ignored).toEqual([{ source: '/tmp', reason: '/tmp is writable by others (mode 1777)' }]);
  });
});

describe('what monitors and storage.conf say', () => {
  const id = 'ab'.repeat(32);
  it('a monitor serves a container only when its own flag names it', () => {
    expect(monitorNamesContainer(['/usr/bin/conmon', '--api-version', '1', '-c', id, '-u', id], id)).toBe('conmon');
    expect(monitorNamesContainer(['conmon', `--cid=${id}`], id)).toBe('conmon');
    expect(monitorNamesContainer(['conmon', '-u', id], id)).toBeUndefined();
    expect(monitorNamesContainer(['/usr/bin/containerd-shim-runc-v2', '-namespace', 'moby', '-id', id, '-address', '/x'], id)).toBe('containerd-shim');
    expect(monitorNamesContainer(['sleep', '-c', id], id)).toBeUndefined();
    expect(monitorNamesContainer(['conmon', '-c', ''], '')).toBeUndefined();
  });

  it('storage.conf: graphroot and runroot of the [storage] table only, absolute paths only', () => {
    const conf = '# c\n[storage]\ndriver = "overlay"\nrunroot = "/run/x"\ngraphroot = "/var/x" # comment\n[storage.options]\ngraphroot = "/elsewhere"\n';
    expect(parseStorageConf(conf)).toEqual({ graphroot: '/var/x', runroot: '/run/x' });
    expect(parseStorageConf('[storage]\ngraphroot = "relative"\n')).toEqual({ graphroot: undefined, runroot: undefined });
    expect(parseStorageConf('graphroot = "/no/table"\n')).toEqual({ graphroot: undefined, runroot: undefined });
  });

  it('/proc/PID/status: all four uids and the parent', () => {
    expect(parseStatusIds('Name:\tx\nPPid:\t12\nUid:\t0\t1000\t0\t0\nGid:\t0\t0\t0\t0\n')).toEqual({ uids: [0, 1000, 0, 0], ppid: 12 });
    expect(parseStatusIds('PPid:\t12\n')).toBeUndefined();
  });
});
