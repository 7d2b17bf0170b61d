// nsctl behaves like the program itself: without a PID namespace the process the caller started
// *is* the program (the helper execs it, Node is gone); with one, a single helper process
// supervises it. Signals, exit status, job control, descriptors and environment, checked on real
// processes and compared with nsenter.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { scratch, tempDir } from '../support/pack.ts';
import { holdingNode, NSCTL, nsctl, nsenter, startTarget, type Target } from '../support/targets.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(probe: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  for (const start = Date.now(); Date.now() - start < ms; await sleep(20)) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

function children(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(' ').map(Number);
  } catch {
    return [];
  }
}

function state(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

function ppid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function readComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  const s = state(pid);
  return s !== undefined && s !== 'Z';
}

const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const child of spawned) if (child.pid !== undefined && alive(child.pid)) child.kill('SIGKILL');
});

function start(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; out: () => string; done: Promise<[number | null, string | null]> } {
  const child = spawn(NSCTL, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  spawned.push(child);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
  return { child, out: () => out, done };
}

describe.runIf(needs('root'))('nsctl as transparent as the program', () => {
  let target: Target;
  let P: string;
  beforeAll(async () => {
    target = await startTarget({ unshare: ['-u', '-m', '--fork', '--pid', '--mount-proc'], setup: 'hostname nsctl-proc' });
    P = String(target.pid);
  });

  const SIGNALS = ['HUP', 'INT', 'QUIT', 'TERM', 'USR1', 'USR2', 'ALRM', 'CONT', 'WINCH'] as const;
  for (const mode of [['-u'], ['-u', '-p']]) {
    it(`passes signals sent to its PID on to the program (${mode.join(' ')})`, async () => {
      for (const sig of SIGNALS) {
        const script = `trap 'echo got ${sig}; exit 0' ${sig}; echo ready; while :; do sleep 0.05; done`;
        const run = start(['-t', P, ...mode, 'sh', '-c', script]);
        await until(() => run.out().includes('ready'), 'the program to start');
        run.child.kill(`SIG${sig}`);
        const [code] = await run.done;
        expect({ sig, out: run.out(), code }).toEqual({ sig, out: `ready\ngot ${sig}\n`, code: 0 });
      }
    });
  }

  it('passes every exit code 0–255 through unchanged', { timeout: 240_000 }, async () => {
    const codes = Array.from({ length: 256 }, (_, i) => i);
    const seen: number[] = [];
    for (let i = 0; i < codes.length; i += 16) {
      const batch = codes.slice(i, i + 16).map((code) => start(['-t', P, '-u', 'sh', '-c', `exit ${code}`]).done);
      for (const [code] of await Promise.all(batch)) seen.push(code ?? -1);
    }
    expect(seen).toEqual(codes);
  });

  it('dies of the signal that killed the program, so a shell sees 128+N', () => {
    for (const [sig, status] of [['TERM', 143], ['SEGV', 139], ['KILL', 137], ['PIPE', 141]] as const) {
      for (const mode of [['-u'], ['-u', '-p']]) {
        const result = spawnSync('sh', ['-c', `${NSCTL} -t ${P} ${mode.join(' ')} sh -c 'kill -${sig} $$'; echo $?`], { encoding: 'utf8' });
        expect({ sig, mode, out: result.stdout }).toEqual({ sig, mode, out: `${status}\n` });
      }
    }
  });

  it('is the program itself without -p: the PID the caller started runs it, with no Node left', () => {
    const result = spawnSync('sh', ['-c', `${NSCTL} -t ${P} -u sh -c 'echo "inside $$ $(cat /proc/$$/comm)"' & echo "started $!"; wait`], { encoding: 'utf8' });
    const inside = /^inside (\d+) (\S+)$/m.exec(result.stdout);
    const started = /^started (\d+)$/m.exec(result.stdout);
    // `$!` (the caller's view) and `$$` (the program's) are the same process, and it is sh.
    expect([inside?.[1], inside?.[2]]).toEqual([started?.[1], 'sh']);
  });

  it('with -p, is exactly one helper process above the program, and no Node', async () => {
    const run = start(['-t', P, '-u', '-p', 'sh', '-c', 'echo ready; exec sleep 1000']);
    await until(() => run.out().includes('ready'), 'the program to start');
    const helper = run.child.pid!;
    const below = children(helper);
    expect(below).toHaveLength(1);
    expect(children(below[0]!)).toEqual([]);
    expect(readFileSync(`/proc/${helper}/comm`, 'utf8')).toBe('nsctl-helper\n');
    expect(readFileSync(`/proc/${below[0]}/comm`, 'utf8')).toBe('sleep\n');
    const nodes = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && ppid(Number(pid)) === helper && readComm(Number(pid)) === 'node');
    expect(nodes).toEqual([]);
    run.child.kill('SIGKILL');
    await run.done;
    await until(() => !alive(below[0]!), 'the program to die with the helper');
  });

  it('does not leave the program behind as an orphan when the helper is killed with SIGKILL (-p)', async () => {
    // A change of credentials clears the parent-death signal, so -S/-G is a case of its own.
    for (const mode of [['-u', '-p'], ['-u', '-p', '-S', '1000', '-G', '1000']]) {
      const run = start(['-t', P, ...mode, 'sh', '-c', 'echo ready; exec sleep 1000']);
      await until(() => run.out().includes('ready'), `the program to start (${mode.join(' ')})`);
      const below = children(run.child.pid!);
      expect(below).toHaveLength(1);
      run.child.kill('SIGKILL');
      await run.done;
      for (const pid of below) await until(() => !alive(pid), `PID ${pid} to die with nsctl`);
    }
  });

  it('leaves no helper or program process after it exits', async () => {
    const run = start(['-t', P, '-u', '-p', 'sh', '-c', 'sleep 0.2 & echo ready; wait']);
    await until(() => run.out().includes('ready'), 'the program');
    const program = children(run.child.pid!)[0]!;
    await run.done;
    expect(alive(run.child.pid!)).toBe(false);
    expect(alive(program)).toBe(false);
  });

  for (const mode of [['-u'], ['-u', '-p']]) {
    it(`stops when the program stops itself, and resumes it when continued (${mode.join(' ')})`, async () => {
      const run = start(['-t', P, ...mode, 'sh', '-c', 'echo ready; kill -STOP $$; echo resumed; exit 5']);
      await until(() => run.out().includes('ready'), 'the program');
      await until(() => state(run.child.pid!) === 'T', 'nsctl to show as stopped');
      process.kill(run.child.pid!, 'SIGCONT');
      expect(await run.done).toEqual([5, null]);
      expect(run.out()).toBe('ready\nresumed\n');
    });
  }

  it('gives the program stdin, stdout and stderr closed when the caller closed them, as nsenter does', () => {
    const dir = tempDir('fd');
    const line = (tool: string, mode: string) => {
      const file = join(dir, `${tool.replace(/\W/g, '')}${mode.replace(/\W/g, '')}`);
      spawnSync('sh', ['-c', `${tool} -t ${P} ${mode} sh -c 'hostname > ${file}; ls /proc/self/fd >> ${file}' <&- >&- 2>&-`]);
      return readFileSync(file, 'utf8');
    };
    for (const mode of ['-u', '-u -p']) {
      expect(line(NSCTL, mode)).toBe(line('/usr/bin/nsenter', mode));
      expect(line(NSCTL, mode)).toMatch(/^nsctl-proc\n/);
    }
  });

  it('keeps the signals the caller ignores ignored in the program (nohup, an ignored SIGPIPE), as nsenter', () => {
    const ignored = (tool: string, mode: string) =>
      spawnSync('sh', ['-c', `trap '' PIPE HUP; ${tool} -t ${P} ${mode} grep SigIgn /proc/self/status`], { encoding: 'utf8' }).stdout;
    for (const mode of ['-u', '-u -p']) {
      expect(ignored(NSCTL, mode)).toBe(ignored('/usr/bin/nsenter', mode));
      // SIGHUP is bit 0, SIGPIPE bit 12.
      expect(BigInt(`0x${ignored(NSCTL, mode).split(':')[1]!.trim()}`) & 0x1001n).toBe(0x1001n);
    }
    // nohup nsctl … & kill -HUP once the program runs: it survives, as nsenter's does.
    const dir = tempDir('hup');
    const script = `nohup ${NSCTL} -t ${P} -u sh -c ': > ${dir}/ready; sleep 0.5; echo survived' 2>/dev/null & while [ ! -e ${dir}/ready ]; do sleep 0.01; done; kill -HUP $!; wait`;
    expect(spawnSync('sh', ['-c', script], { encoding: 'utf8' }).stdout).toBe('survived\n');
  });

  it('prints nothing on stderr in 300 plain runs in a row', () => {
    const result = spawnSync('sh', ['-c', `i=0; while [ $i -lt 300 ]; do ${NSCTL} -t ${P} -u true || echo "failed: $?"; i=$((i+1)); done`], { encoding: 'utf8', timeout: 240_000 });
    expect([result.stdout, result.stderr, result.status]).toEqual(['', '', 0]);
  }, 240_000);

  it('hands descriptors the caller passed beyond stderr to the program, and none of its own', () => {
    const dir = tempDir('fd');
    writeFileSync(join(dir, 'three'), 'three\n');
    const line = (tool: string) =>
      spawnSync('sh', ['-c', `${tool} -t ${P} -u sh -c 'cat <&3; ls /proc/self/fd | sort -n | tr "\\n" " "' 3<${dir}/three 7</dev/null`], {
        encoding: 'utf8',
      }).stdout;
    const ours = line(NSCTL);
    expect(ours).toBe(line('/usr/bin/nsenter'));
    // 3 and 7 are the caller's, 4 is ls's own directory; more may come from the test's parent.
    expect(ours).toMatch(/^three\n0 1 2 3 4 7 /);
  });

  it('gives the program the environment nsenter would, also under npx', () => {
    const base = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/root', KEEP: 'me', EDITOR: 'nano', PWD: process.cwd() };
    const npx = {
      ...base,
      PATH: `/root/.npm/_npx/abc/node_modules/.bin:/tmp/x/node_modules/.bin:/node_modules/.bin:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:${base.PATH}`,
      npm_command: 'exec',
      npm_lifecycle_event: 'npx',
      npm_config_cache: '/root/.npm',
      npm_node_execpath: process.execPath,
      NODE: process.execPath,
      INIT_CWD: '/tmp/x',
      COLOR: '0',
    };
    const ours = nsctl(['-t', P, '-u', 'env'], { env: npx });
    const theirs = nsenter(['-t', P, '-u', 'env'], { env: base });
    expect(ours.stdout.split('\n').sort()).toEqual(theirs.stdout.split('\n').sort());
    // Outside npm exec nothing is taken out.
    const plain = nsctl(['-t', P, '-u', 'env'], { env: { ...base, npm_config_x: '1', COLOR: '0' } });
    expect(plain.stdout).toContain('npm_config_x=1\n');
  });

  it('behaves the same with no terminal and stdin from /dev/null', () => {
    const result = spawnSync('sh', ['-c', `${NSCTL} -t ${P} -u sh -c 'hostname; tty; exit 4' </dev/null`], { encoding: 'utf8' });
    expect(result.stdout).toBe('nsctl-proc\nnot a tty\n');
    expect(result.status).toBe(4);
  });
});

describe.runIf(needs('root'))("the planner's Node, signalled SIGUSR1", () => {
  /** Sockets listening on port 9229 (Node's inspector), from /proc/net/tcp and tcp6. */
  const inspectorListening = (): number =>
    ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1))
      .filter((line) => {
        const fields = line.trim().split(/\s+/);
        return fields[3] === '0A' && /:240D$/.test(fields[1] ?? '');
      }).length;

  it('never listens, whatever moment of start-up the signal arrives at', async () => {
    const target = await startTarget({ unshare: ['-u'], setup: 'hostname nsctl-usr1' });
    let signalled = 0;
    for (let round = 0; round < 40; round++) {
      const child = spawn(NSCTL, ['-t', String(target.pid), '-u', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
      spawned.push(child);
      const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
      // The planner is the helper's child named node; signal it 0, 3, … 57 ms after it appears.
      const planner = await until(() => children(child.pid!).find((pid) => readComm(pid) === 'node') ?? (child.exitCode !== null ? -1 : undefined), 'the planner', 10_000);
      if (planner > 0) {
        await sleep((round % 20) * 3);
        try {
          process.kill(planner, 'SIGUSR1');
          signalled++;
        } catch {
          // Already gone: this round tells nothing, the next ones will.
        }
      }
      while (child.exitCode === null && child.signalCode === null) {
        expect(inspectorListening()).toBe(0);
        await sleep(2);
      }
      await done;
      expect(inspectorListening()).toBe(0);
    }
    expect(signalled).toBeGreaterThan(20);
  }, 120_000);
});

describe.runIf(needs('root'))('a target whose PID is reused between planning and entering', () => {
  it('is refused, and nothing is entered', () => {
    // Deterministic: everything runs in a private PID namespace, where the next PID can be chosen
    // (ns_last_pid), and a `node` first on PATH runs the real planner, then holds its exit until
    // the target has been replaced by another process with the same PID.
    const dir = holdingNode('reuse');
    const script = [
      'sleep 1000 & target=$!',
      `PATH=${dir}:$PATH ${NSCTL} -t $target -u hostname > ${dir}/out 2> ${dir}/err & nsctl=$!`,
      `while [ ! -e ${dir}/planned ]; do sleep 0.01; done`,
      'kill -9 $target; wait $target 2>/dev/null',
      'sleep 0.1',
      'echo $((target - 1)) > /proc/sys/kernel/ns_last_pid',
      'sleep 1000 & successor=$!',
      `echo "$target $successor" > ${dir}/pids`,
      `: > ${dir}/go`,
      'wait $nsctl; echo $? > ' + `${dir}/rc`,
      'kill -9 $successor',
    ].join('\n');
    const result = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(0);
    const [target, successor] = readFileSync(join(dir, 'pids'), 'utf8').trim().split(' ');
    expect(successor).toBe(target);
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe(
      `nsctl: process ${target} exited or was replaced after nsctl read it; nothing was entered: No such process\n`,
    );
    expect(readFileSync(join(dir, 'rc'), 'utf8')).toBe('1\n');
  });
});

describe.runIf(needs('root', 'tmux'))('nsctl at an interactive terminal (tmux)', () => {
  // The server's socket in a directory of our own: -L would leave /tmp/tmux-0 and the socket behind.
  const socket = join(scratch('tmux'), 'socket');
  const tmux = (...args: string[]) => spawnSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-t', 't').stdout;
  let target: Target;
  beforeAll(async () => {
    target = await startTarget({ unshare: ['-u', '--fork', '--pid', '--mount-proc'], setup: 'hostname nsctl-tty' });
    const started = tmux('new-session', '-d', '-s', 't', '-x', '150', '-y', '50', 'env', '-i', 'PATH=/usr/bin:/bin', 'TERM=screen', 'PS1=$ ', 'bash', '--norc', '--noprofile', '-i');
    expect(started.status).toBe(0);
  });
  afterAll(() => {
    tmux('kill-server');
  });
  /** Types keys, then waits until the screen (trailing blank lines dropped) matches. */
  const type = async (keys: string[], expectOnScreen: RegExp) => {
    tmux('send-keys', '-t', 't', ...keys);
    await until(() => expectOnScreen.test(screen().trimEnd()), `${JSON.stringify(keys)} → ${expectOnScreen}`);
  };
  const PROMPT = /\n\$$/;

  it('runs an interactive shell inside; Ctrl-C kills a program there but not the shell', async () => {
    await type([`${NSCTL} -t ${target.pid} -u sh -i`, 'Enter'], PROMPT);
    await type(['hostname', 'Enter'], /\nnsctl-tty\n\$$/);
    await type(['sleep 100', 'Enter'], /sleep 100$/);
    await sleep(300);
    await type(['C-c'], /sleep 100\n\^C\n\$$/);
    await type(['echo alive-$((6*7))', 'Enter'], /\nalive-42\n\$$/);
    await type(['exit 3', 'Enter'], /exit 3\n\$$/);
    await type(['echo outer-$?', 'Enter'], /\nouter-3\n\$$/);
  });

  it('dies of Ctrl-C with the program, and Ctrl-Z stops it as a job that fg resumes', async () => {
    await type([`${NSCTL} -t ${target.pid} -u sleep 100`, 'Enter'], /sleep 100$/);
    await sleep(300);
    await type(['C-c'], /\^C\n\$$/);
    await type(['echo rc-$?', 'Enter'], /\nrc-130\n\$$/);
    await type([`${NSCTL} -t ${target.pid} -u -p sh -c 'sleep 1; echo finished'`, 'Enter'], /finished'$/);
    await sleep(300);
    await type(['C-z'], /Stopped.*finished'\n\$$/);
    await type(['fg', 'Enter'], /\nfinished\n\$$/);
    await type(['echo rc-$?', 'Enter'], /\nrc-0\n\$$/);
  });
});
