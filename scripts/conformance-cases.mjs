// Differential conformance between util-linux nsenter (Debian's 2.38.1, /usr/bin/nsenter) and
// nsctl: the case table, the generated command lines, and the bench that runs them. Targets are
// made with unshare/setpriv; every case runs under both programs and stdout, stderr (program name
// normalised) and the exit status are compared. Where 2.38.1 and 2.42 differ, the case carries the
// 2.42 result (or nsctl's documented deliberate difference, docs/compat.md) and nsctl is compared
// with that instead.
//
// Two users: scripts/conformance.mjs (run by scripts/conformance) prints one line per case and
// "N passed, N failed"; test/integration/conformance.root.test.ts makes each case a vitest test of
// its own, named by its command line. conformance-cases.d.mts types this module for the tests.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const NSCTL = fileURLToPath(new URL('../bin/nsctl', import.meta.url));
const NSENTER = '/usr/bin/nsenter';

// ---- the cases --------------------------------------------------------------------------------

/**
 * Each case: args (with {P} etc. for target PIDs), optional `as: 'user'` (uid 1000), and for
 * lines where 2.38.1 and 2.42 differ, `v242`: what 2.42 (or nsctl by a documented decision) gives
 * — a result, or a function of the targets' namespaces for a result that names them.
 */
const NS_LIST = 'readlink /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/ipc /proc/self/ns/cgroup';
const ALL_NS = ['net', 'uts', 'ipc', 'cgroup', 'user', 'mnt', 'pid', 'time'];
const NS_ALL = `readlink ${ALL_NS.map((ns) => `/proc/self/ns/${ns}`).join(' ')}; id -u`;
/** NS_ALL's namespace lines for target `key` entered in `entered`, the caller's own elsewhere. */
const nsLines = (targets, key, entered) => ALL_NS.map((ns) => `${targets.readNs(entered.includes(ns) ? key : 'self', ns)}\n`).join('');
const setgroupsHint = (key) =>
  `PROG: the target's user namespace does not allow setgroups (/proc/{${key}}/setgroups is "deny"); --preserve-credentials keeps your own uid, gid and groups\n`;
const E = (stderr, status = 1, stdout = '') => ({ stdout, stderr, status });
export const CASES = [
  // --- the plain root-owned target
  { args: ['-t', '{P}', '-u', 'hostname'] },
  { args: ['-t', '{P}', '-n', '-u', '-i', '-C', 'sh', '-c', NS_LIST] },
  { args: ['--target={P}', '--net', '--uts', '--ipc', 'sh', '-c', NS_LIST] },
  { args: ['-t{P}', '-nui', 'sh', '-c', NS_LIST] },
  { args: ['--ta', '{P}', '--ut', '--ne', 'hostname'], v242: E("PROG: option '--ne' is ambiguous; possibilities: '--net' '--net-socket'\nTry 'PROG --help' for more information.\n") },
  { args: ['-t', '{P}', '-a', 'sh', '-c', `${NS_LIST}; readlink /proc/self/ns/mnt /proc/self/ns/pid; ps -o pid= -p 1 | tr -d " "`] },
  { args: ['-t', '{P}', '-m', '-r', 'pwd'] },
  { args: ['-t', '{P}', '-m', '-w', 'pwd'] },
  { args: ['-t', '{P}', '-p', '-m', 'sh', '-c', 'ps -o pid= -p 1 | tr -d " "; readlink /proc/self/ns/pid'] },
  { args: ['-t', '{P}', '-u', '-S', '1000', 'id'] },
  { args: ['-t', '{P}', '-u', '-G', '1000', 'id'] },
  { args: ['-t', '{P}', '-u', 'sh', '-c', 'exit 7'] },
  { args: ['-t', '{P}', '-u', '-p', 'sh', '-c', 'kill -TERM $$'] },
  // -Z: Debian's nsenter is an SELinux build; with SELinux off here it changes nothing, for either.
  { args: ['-t', '{P}', '-Z', '-u', 'hostname'] },
  { args: ['--follow-context', '--target={P}', '-n', '-u', '-i', '-C', 'sh', '-c', NS_LIST] },
  { args: ['--f', '-t{P}', '-uZ', 'hostname'] },
  { args: ['--follow-context=1', 'true'] },
  { args: ['-Z', '-m', 'true'], v242: E('PROG: no target PID specified\n') },
  { args: ['-t', '{P}', '-n', '/nonexistent'] },
  { args: ['-t', '{P}', '-n', '/etc/passwd'] },
  { args: ['-t', '{P}', '-n', ''] },
  // 2.42 joins the target's namespaces through its pidfd, in one call, and words its failure so.
  { args: ['-t', '{P}', '-U', 'true'], v242: E('PROG: reassociate to namespaces failed: Invalid argument\n') },
  { args: ['--net=/etc/passwd', 'true'] },
  { args: ['--net=', 'true'] },
  { args: ['-t', '99999', '-m', 'true'] },
  { args: ['-t', '99999', '-a', 'true'] },
  { args: ['-t', '{P}', '-u', '-S', 'abc', 'true'] },
  { args: ['-t', '{P}', '-u', '-S', '-1', 'true'], v242: E("PROG: failed to parse uid: '-1': Numerical result out of range\n") },
  { args: ['-t', '{P}', '-u', '--wd=/etc/passwd', 'true'] },
  { args: ['-t', '{P}', '-u', '--root=/etc/passwd', 'true'] },
  { args: ['-t', '{P}', '-u', '--wdns=/nonexist', 'true'] },
  { args: ['-t', '{P}', '-u', '-r=/', 'true'] },
  { args: ['-x'] },
  { args: ['-t'] },
  { args: ['--target'] },
  { args: ['--all=1'] },
  { args: ['--p'] },
  { args: ['-h', '-x'], compare: 'status' },
  { args: ['-t', '{P}', '-w', '-W/usr', 'true'], v242: E('PROG: options --wd and --wdns cannot be combined\n') },
  { args: ['-t', '{P}', 'true'], v242: E('PROG: no namespace specified\n') },
  { args: ['-m', 'true'], v242: E('PROG: no target PID specified\n') },
  { args: ['-t', 'abc', '-m', 'true'], v242: E('PROG: invalid PID argument\n') },
  { args: ['-t', '{P}', '-n=/proc/{P}/ns/net', 'readlink', '/proc/self/ns/net'], v242: (targets) => E('', 0, `${targets.readNs('P', 'net')}\n`) },
  { args: ['-t', '{P}', '-u', '--join-cgroup', 'true'], v242: E('PROG: --join-cgroup is only supported in cgroup v2\n') },
  { args: ['-t', '{P}', '-u', '-e', 'true'], v242: E('', 0) },
  { args: ['--uts=/proc/{P}/ns/uts', '-e', 'true'], v242: E('PROG: neither filename nor target pid supplied for environ\n') },
  { args: ['-t', '{P}:1', '-u', 'true'], v242: E('PROG: failed to obtain a valid file descriptor for PID {P}: No such process\n') },
  { args: ['-t', '{P}:{INODE_P}', '-u', 'hostname'], v242: E('', 0, 'conf-plain\n') },
  { args: ['-t', '{P}', '-N', '99', 'true'], v242: E('PROG: pidfd_getfd(3, 99): Bad file descriptor\n') },
  { args: ['-t', '{P}', '-N', '0', 'true'], v242: E('PROG: ioctl(4, SIOCGSKNS): Inappropriate ioctl for device\n') },
  { args: ['-N', 'abc', 'true'], v242: E("PROG: failed to parse file descriptor: 'abc'\n") },
  // --- user namespaces: root in a child user ns, a wide map, the target's environment
  { args: ['-t', '{R}', '-U', 'id'] },
  { args: ['-t', '{R}', '-a', 'sh', '-c', 'id; hostname; readlink /proc/self/ns/user'] },
  { args: ['-t', '{R}', '--user-parent', 'true'], v242: E("PROG: reassociate to namespace 'ns/user' failed: Invalid argument\n") },
  { args: ['-t', '{W}', '-U', '-S', '1000', '-G', '1000', 'id'] },
  { args: ['-t', '{W}', '-U', '-S', '70000', 'id'], v242: E('PROG: setuid() failed: Invalid argument\n') },
  { args: ['-t', '{W}', '-U', '-G', '70000', 'id'], v242: E('PROG: setgid() failed: Invalid argument\n') },
  { args: ['-t', '{W}', '-U', '-S', 'follow', '-G', 'follow', 'id', '-u'], v242: E('', 0, '0\n') },
  // U belongs to uid 1000, mapped to itself in U's user namespace: follow gives 1000 there.
  { args: ['-t', '{U}', '-U', '-S', 'follow', '-G', 'follow', 'sh', '-c', 'id -u; id -g'], v242: E('', 0, '1000\n1000\n') },
  { args: ['-t', '{T}', '-T', 'sh', '-c', 'awk "{print (\\$1 > 1000000)}" /proc/uptime'] },
  { args: ['-t', '{E}', '-u', '-e', 'env'], v242: E('', 0, 'B=2\nC=3\nA=4\nEMPTY=\nPATH=/usr/bin:/bin\n') },
  // --- unprivileged callers entering their own user namespaces (the rootless case)
  { as: 'user', args: ['-t', '{U}', '-U', '-n', '--preserve-credentials', 'sh', '-c', 'id -u; readlink /proc/self/ns/net'] },
  { as: 'user', args: ['-t', '{U}', '-n', '-U', '-m', '--preserve-credentials', 'sh', '-c', 'readlink /proc/self/ns/net /proc/self/ns/mnt'] },
  // U and M deny setgroups (unshare -c, --map-root-user): nsenter's line, then nsctl's hint (docs/compat.md).
  { as: 'user', args: ['-t', '{U}', '-U', 'id', '-u'], v242: E(`PROG: setgroups failed: Operation not permitted\n${setgroupsHint('U')}`) },
  { as: 'user', args: ['-t', '{M}', '-U', '-n', '-u', 'sh', '-c', 'id -u; hostname'], v242: E(`PROG: setgroups failed: Operation not permitted\n${setgroupsHint('M')}`) },
  { as: 'user', args: ['-t', '{M}', '-U', '-n', '-u', '--preserve-credentials', 'sh', '-c', 'id -u; hostname'] },
  // nsctl's --all leaves out the namespaces M shares with its owner (docs/compat.md).
  { as: 'user', args: ['-t', '{M}', '-a', '--preserve-credentials', 'sh', '-c', NS_ALL], v242: (targets) => E('', 0, `${nsLines(targets, 'M', ['net', 'uts', 'user'])}0\n`) },
  // -e after the credential change (docs/compat.md; 2.42 prints `cannot open /proc/A/environ: Permission denied`).
  { as: 'user', args: ['--user', '--setuid=0', '--setgid=0', '--target={A}', '--env', '--', 'sh', '-c', 'echo $UL_TEST_ENV'], v242: E('', 0, 'inherited\n') },
  { as: 'user', args: ['-t', '{A}', '-U', '--preserve-credentials', '-e', 'true'], v242: E('PROG: cannot open /proc/{A}/environ: Permission denied\n') },
  // A nested user namespace, entered by its owner (docs/compat.md): 2.38.1 joins the inner one
  // first and then has no rights in the outer one.
  { as: 'user', args: ['-t', '{N}', '-U', '-m', '-u', '-n', '-p', '--preserve-credentials', 'sh', '-c', NS_ALL], v242: (targets) => E('', 0, `${nsLines(targets, 'N', ['net', 'uts', 'user', 'mnt', 'pid'])}0\n`) },
  { as: 'user', args: ['-t', '{N}', '-a', '--preserve-credentials', 'sh', '-c', NS_ALL], v242: (targets) => E('', 0, `${nsLines(targets, 'N', ['net', 'uts', 'user', 'mnt', 'pid'])}0\n`) },
  { as: 'user', args: ['-t', '{N}', '-a', 'true'], v242: E(`PROG: setgroups failed: Operation not permitted\n${setgroupsHint('N')}`) },
  { args: ['-t', '{N}', '-a', 'sh', '-c', NS_ALL] },
  { as: 'user', args: ['-t', '{M}', '-n', '--preserve-credentials', 'true'], v242: E('PROG: reassociate to namespaces failed: Operation not permitted\n') },
  // nsctl's --all leaves out the namespaces U shares with its owner, which it may not re-join (docs/compat.md).
  { as: 'user', args: ['-t', '{U}', '-a', '--preserve-credentials', 'true'], v242: E('', 0) },
  { as: 'user', args: ['-t', '{P}', '-n', 'true'], v242: E('PROG: reassociate to namespaces failed: Operation not permitted\n') },
  { as: 'user', args: ['-t', '{P}', '-a', 'true'] },
  { as: 'user', args: ['-t', '{P}', '-r', 'true'] },
  { as: 'user', args: ['-t', '{U}', '-U', '-n', '--preserve-credentials', '--keep-caps', 'grep', 'CapAmb', '/proc/self/status'], v242: E('', 0, 'CapAmb:\t000001ffffffffff\n') },
  // 2.42 prints CapAmb 0 here (docs/upstream.md §13.2); nsctl fixes that on purpose
  // (docs/compat.md).
  { as: 'user', args: ['-t', '{U}', '-U', '--preserve-credentials', '--keep-caps', 'grep', 'CapAmb', '/proc/self/status'], v242: E('', 0, 'CapAmb:\t000001ffffffffff\n') },
];

/** How a case is named: `[uid 1000: ]nsenter ARGS[  [2.42]]`, with `args` as given (placeholders or PIDs). */
export function caseName(c, args = c.args) {
  const line = `${c.as === 'user' ? 'uid 1000: ' : ''}nsenter ${args.map((a) => (/^[\w./:=+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`;
  return c.v242 === undefined ? line : `${line}  [2.42]`;
}

// ---- generated command lines ------------------------------------------------------------------
// Option subsets in every spelling both versions parse alike: short and long names, unambiguous
// prefixes, clusters, attached and detached -t. Always at least one namespace (2.38.1 runs a
// program without one; 2.42 refuses). No '=' after optional arguments (2.42 strips it).

/**
 * The generated command lines (with {P}), in order: NSCTL_CONFORMANCE_RUNS of them (default 40),
 * from seed NSCTL_CONFORMANCE_SEED (default 4242). The same lines every time for the same two.
 */
export function generatedLines() {
  const nsOption = fc.constantFrom(
    ['-u'], ['-n'], ['-i'], ['-C'], ['--uts'], ['--net'], ['--ipc'], ['--cgroup'], ['--ut'], ['--ip'], ['--cg'],
    ['-ui'], ['-iu'], ['-Cn'], ['-m'], ['--mount'], ['--mo'],
  );
  const extra = fc.constantFrom(
    ['-F'], ['--no-fork'], ['--no'], ['-S', '0'], ['-G', '0'], ['-S0'], ['--setuid=0'], ['--setg', '0'],
    ['--preserve-credentials'], ['--pres'], ['-w'], ['-r'], ['--wd'], ['--root'], ['-p'], ['--pid'],
    ['-Z'], ['--follow-context'], ['--fo'],
  );
  const targetForm = fc.constantFrom(['-t', '{P}'], ['-t{P}'], ['--target', '{P}'], ['--target={P}'], ['--tar', '{P}'], ['--t={P}']);
  const program = fc.constantFrom(
    ['sh', '-c', `${NS_LIST}; readlink /proc/self/ns/mnt; hostname; id -u; pwd`],
    ['hostname'],
    ['/nonexistent'],
  );
  const line = fc
    .tuple(targetForm, fc.array(nsOption, { minLength: 1, maxLength: 3 }), fc.array(extra, { maxLength: 3 }), program, fc.nat())
    .map(([t, ns, ex, prog, seed]) => {
      const opts = [t, ...ns, ...ex];
      // A cheap shuffle driven by the seed, so -t is not always first.
      for (let i = opts.length - 1; i > 0; i--) {
        const j = (seed + i * 7) % (i + 1);
        [opts[i], opts[j]] = [opts[j], opts[i]];
      }
      return [...opts.flat(), ...prog];
    });
  // Drawn the way fc.assert draws them (the lines do not depend on any outcome).
  const lines = [];
  fc.assert(
    fc.property(line, (raw) => {
      lines.push(raw);
      return true;
    }),
    { numRuns: Number(process.env.NSCTL_CONFORMANCE_RUNS ?? 40), seed: Number(process.env.NSCTL_CONFORMANCE_SEED ?? 4242) },
  );
  return lines;
}

/** How a generated line is named. */
export const generatedName = (args) => `generated: nsenter ${args.join(' ')}`;

// ---- the bench: targets, running, comparing -----------------------------------------------------

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readNs(pid, ns) {
  return spawnSync('readlink', [`/proc/${pid}/ns/${ns}`], { encoding: 'utf8' }).stdout.trim();
}

const unpriv = ['setpriv', '--reuid=1000', '--regid=1000', '--clear-groups'];
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', SHELL: '/bin/sh', HOME: '/' };
// `unshare --map-auto` (target A) maps uid 1000's subordinate ids: its line in /etc/subuid and
// /etc/subgid is added if missing and removed again once the targets exist (.ci/run adds it for
// good; test/integration/rootless.root.test.ts does the same).
const SUBID_LINE = '1000:300000:65536';

function same(a, b) {
  return a.stdout === b.stdout && a.stderr === b.stderr && a.status === b.status;
}

/**
 * Checks the tools, makes the targets and returns the bench: `runCase` and `runGenerated` give
 * `{ ok, want, got, args }` (args with the PIDs in), `stop` kills every process it started and
 * removes its files. Throws (having cleaned up) when it cannot run: not root, a tool missing, a
 * target that did not start.
 */
export function startBench() {
  if (process.getuid() !== 0) throw new Error('needs root (it builds targets with unshare and runs as uid 1000 too)');
  for (const tool of ['unshare', 'setpriv', 'python3', 'cc', NSENTER]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found`);
  }

  const started = [];
  const work = mkdtempSync(join(tmpdir(), 'nsctl-conformance-'));
  const subidsAdded = [];
  function removeSubids() {
    for (const file of subidsAdded.splice(0)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      const at = lines.indexOf(SUBID_LINE);
      if (at >= 0) lines.splice(at, 1);
      writeFileSync(file, lines.join('\n'));
    }
  }
  let stopped = false;
  function stop() {
    if (stopped) return;
    stopped = true;
    // Descendants first (a target that never got as far as sleep still has them), then each
    // started process, by PID, with SIGKILL (a PID-namespace init ignores SIGTERM).
    const all = [];
    const walk = (pid) => {
      for (const c of children(pid)) walk(c);
      all.push(pid);
    };
    for (const pid of started) walk(pid);
    for (const pid of all) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    removeSubids();
    rmSync(work, { recursive: true, force: true });
  }
  process.on('exit', stop);

  try {
    // A program that execs with a crafted envp: duplicates, an entry without '=', an empty entry.
    writeFileSync(
      join(work, 'crafted-env.c'),
      `#include <unistd.h>
int main(int argc, char **argv) { (void)argc; char *envp[] = {"A=1", "B=2", "NOEQUALS", "C=3", "A=4", "", "EMPTY=", "PATH=/usr/bin:/bin", 0};
execve(argv[1], argv + 1, envp); return 127; }
`,
    );
    if (spawnSync('cc', ['-o', join(work, 'crafted-env'), join(work, 'crafted-env.c')]).status !== 0) throw new Error('cannot compile crafted-env.c');
    spawnSync('chmod', ['755', work]);

    /** Starts argv; returns the PID of the process unshare --fork made (its only child). */
    const target = (argv, setup) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
      started.push(child.pid);
      for (let i = 0; i < 200; i++) {
        const [inner] = children(child.pid);
        if (inner !== undefined && /(^|\/)sleep\0/.test(readFileSync(`/proc/${inner}/cmdline`, 'utf8'))) {
          started.push(inner);
          setup?.(inner);
          return inner;
        }
        sleep(25);
      }
      throw new Error(`target did not start: ${argv.join(' ')}`);
    };

    for (const file of ['/etc/subuid', '/etc/subgid']) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // none yet
      }
      const name = spawnSync('getent', ['passwd', '1000'], { encoding: 'utf8' }).stdout.split(':')[0];
      if (text.split('\n').some((line) => line.startsWith('1000:') || (name && line.startsWith(`${name}:`)))) continue;
      writeFileSync(file, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${SUBID_LINE}\n`);
      subidsAdded.push(file);
    }
    const T = {
      P: target(['unshare', '-n', '-u', '-i', '-m', '-C', '--fork', '--pid', '--mount-proc', 'sh', '-c', 'hostname conf-plain; exec sleep 1000']),
      R: target(['unshare', '-U', '--map-root-user', '-m', '-n', '-u', '--fork', '--pid', '--mount-proc', 'sleep', '1001']),
      W: target(['unshare', '-U', '-m', '--fork', 'sleep', '1002'], (pid) => {
        writeFileSync(`/proc/${pid}/uid_map`, '0 0 65536\n');
        writeFileSync(`/proc/${pid}/gid_map`, '0 0 65536\n');
      }),
      U: target([...unpriv, 'unshare', '-U', '-c', '-m', '-n', '--fork', 'sleep', '1004']),
      M: target([...unpriv, 'unshare', '-U', '--map-root-user', '-n', '-u', '--fork', 'sleep', '1005']),
      T: target(['unshare', '--time', '--fork', '--boottime', '1000000', 'sleep', '1010']),
      E: target(['unshare', '-u', '--fork', join(work, 'crafted-env'), '/bin/sleep', '1011']),
      // uid 1000's, running as a subordinate uid: its environ is readable only once one is that uid.
      A: target([...unpriv, 'env', 'UL_TEST_ENV=inherited', 'unshare', '--map-auto', '--map-current-user', '--setuid=0', '--setgid=0', '--fork', 'sleep', '1012']),
      // uid 1000's, in a user namespace nested in another, which owns its other namespaces.
      N: target([...unpriv, 'unshare', '-U', '--map-root-user', '-m', '-u', '-n', '-p', '--fork', '--mount-proc', 'unshare', '-U', '--map-root-user', 'sleep', '1013']),
    };
    removeSubids();
    const pidfdInode = (pid) =>
      spawnSync('python3', ['-c', `import os; print(os.fstat(os.pidfd_open(${pid})).st_ino)`], { encoding: 'utf8' }).stdout.trim();
    const INODE_P = pidfdInode(T.P);

    const expand = (args) => args.map((a) => a.replace(/\{(\w)\}/g, (_, k) => String(T[k])).replace('{INODE_P}', INODE_P));

    /** Program names: `nsenter: `, `/usr/bin/nsenter: ` (getopt uses argv[0]) and `nsctl: ` → `PROG: `. */
    const normalise = (text) => {
      let out = text.replace(/^(\/usr\/bin\/nsenter|nsenter|nsctl): /gm, 'PROG: ').replace(/Try '(nsenter|nsctl) --help'/g, "Try 'PROG --help'");
      // Target PIDs in messages, as {P}, {U}, … (the cases' expectations say them so).
      for (const [key, pid] of Object.entries(T)) out = out.replace(new RegExp(`\\b${pid}\\b`, 'g'), `{${key}}`);
      return out;
    };

    /**
     * uid 1000 may not reach the checkout (a clone in `mktemp -d` is 0700): its runs use a copy of the
     * package in a directory everyone may enter, as test/support/any-user.ts does for the tests.
     */
    let userCopy;
    const nsctlForUser = () => {
      if (userCopy === undefined) {
        const root = join(work, 'package');
        chmodSync(work, 0o755);
        mkdirSync(join(root, 'dist'), { recursive: true });
        cpSync(fileURLToPath(new URL('../bin', import.meta.url)), join(root, 'bin'), { recursive: true });
        copyFileSync(fileURLToPath(new URL('../dist/nsctl.cjs', import.meta.url)), join(root, 'dist/nsctl.cjs'));
        cpSync(fileURLToPath(new URL('../prebuilds', import.meta.url)), join(root, 'prebuilds'), { recursive: true });
        userCopy = join(root, 'bin/nsctl');
      }
      return userCopy;
    };

    const run = (program, args, as) => {
      const argv = as === 'user' ? [...unpriv, program === NSCTL ? nsctlForUser() : program, ...args] : [program, ...args];
      const r = spawnSync(argv[0], argv.slice(1), { env: ENV, encoding: 'utf8', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
      const status = r.status ?? (r.signal ? `signal ${r.signal}` : 'none');
      return { stdout: r.stdout, stderr: normalise(r.stderr), status };
    };

    const targets = { readNs: (key, ns) => readNs(key === 'self' ? 'self' : T[key], ns) };

    return {
      runCase(c) {
        const args = expand(c.args);
        const got = run(NSCTL, args, c.as);
        if (c.v242 !== undefined) {
          const want = typeof c.v242 === 'function' ? c.v242(targets) : c.v242;
          return { ok: same(want, got), want, got, args };
        }
        const want = run(NSENTER, args, c.as);
        const ok = c.compare === 'status' ? want.status === got.status : same(want, got);
        return { ok, want, got, args };
      },
      runGenerated(raw) {
        const args = expand(raw);
        const want = run(NSENTER, args);
        const got = run(NSCTL, args);
        return { ok: same(want, got), want, got, args };
      },
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}
