// nsctl behaves like the program itself (issue 4): signals, exit status, job control,
// descriptors and environment, checked on real processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NSCTL, nsctl, nsenter, rootTestsEnabled, startTarget, type Target } from '../support/targets.ts';

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

describe.runIf(rootTestsEnabled())('nsctl as transparent as the program', () => {
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

  it('does not leave the program behind as an orphan when killed with SIGKILL', async () => {
    // The program is nsctl's child, or, with -p, the helper's child. A change of credentials
    // clears the parent-death signal, so -S/-G is a case of its own.
    const modes: [string[], number][] = [
      [['-u'], 1],
      [['-u', '-p'], 2],
      [['-u', '-S', '1000', '-G', '1000'], 1],
      [['-u', '-p', '-S', '1000', '-G', '1000'], 2],
    ];
    for (const [mode, processes] of modes) {
      const run = start(['-t', P, ...mode, 'sh', '-c', 'echo ready; exec sleep 1000']);
      await until(() => run.out().includes('ready'), `the program to start (${mode.join(' ')})`);
      const descendants = (pid: number): number[] => children(pid).flatMap((c) => [c, ...descendants(c)]);
      const below = descendants(run.child.pid!);
      expect(below.length).toBe(processes);
      run.child.kill('SIGKILL');
      await run.done;
      for (const pid of below) await until(() => !alive(pid), `PID ${pid} to die with nsctl`);
    }
  });

  it('leaves no helper or program process after it exits', async () => {
    const run = start(['-t', P, '-u', '-p', 'sh', '-c', 'sleep 0.2 & echo ready; wait']);
    await until(() => run.out().includes('ready'), 'the program');
    const helper = children(run.child.pid!)[0]!;
    const program = children(helper)[0]!;
    await run.done;
    expect(alive(helper)).toBe(false);
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

  it('enters the right namespaces with stdin, stdout and stderr closed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsctl-fd-'));
    const file = join(dir, 'out');
    const result = spawnSync('sh', ['-c', `${NSCTL} -t ${P} -u sh -c 'hostname > ${file}' <&- >&- 2>&-; echo $? > ${file}.rc`]);
    expect(result.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('nsctl-proc\n');
    expect(readFileSync(`${file}.rc`, 'utf8')).toBe('0\n');
  });

  it('hands descriptors the caller passed beyond stderr to the program, and none of its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsctl-fd-'));
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
    // PWD as any calling shell exports it (bin/nsctl's sh line adds it when absent: docs/compat.md).
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

describe.runIf(rootTestsEnabled() && tmuxAvailable())('nsctl at an interactive terminal (tmux)', () => {
  const server = `nsctl-test-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
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

function tmuxAvailable(): boolean {
  const ok = spawnSync('tmux', ['-V']).status === 0;
  if (!ok && process.env['CI'] === 'true') throw new Error('CI=true: tmux is required');
  return ok || existsSync('/usr/bin/tmux');
}
