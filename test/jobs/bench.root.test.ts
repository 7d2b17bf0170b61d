// scripts/bench still works. A benchmark, not a timed test: it runs once in its short
// mode, and only its table is checked, never a number in it. A CI job (test/jobs/, left out of
// `npm test` by vitest.config.ts): .ci/run starts it as a step of its own. Needs root.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BENCH = fileURLToPath(new URL('../../scripts/bench', import.meta.url));

describe('scripts/bench --quick', () => {
  it('measures every row against a target of its own, prints the table and leaves no target behind', () => {
    if (process.getuid?.() !== 0) throw new Error('scripts/bench enters namespaces: run it as root');
    // `npm test` built dist/ just before; --no-build keeps this from rewriting it under other tests.
    const result = spawnSync(BENCH, ['--quick', '--no-build'], { encoding: 'utf8', timeout: 300_000 });
    expect(result.stderr).not.toMatch(/Error|bench: (?!target PID|node and|nsenter and|pty relay|memory|scaling|\d+ idle processes|\(--quick)/);
    expect(result.status).toBe(0);
    const rows = [
      '`node -e 0` (baseline)',
      '`nsctl -t P -a true`',
      '`nsctl --help`',
      '`nsctl --version`',
      'floor of the design',
      '`nsctl -t P --host-tools true`',
      '`nsctl -t P -a true` without its code cache',
      'planner alone, a real run',
      'planner alone, `--explain -t P -a true`',
      '`nsctl --explain -t P -a true`, whole',
      '`nsenter -t P -a true` (baseline',
      'helper alone, same plan',
      'pty relay baseline: `',
      'pty relay: `nsctl -t ',
      'pty relay start-up: `',
      'pty relay throughput, start-up taken out (medians): nsctl ',
      'max RSS, `node -e 0`',
      'left running while the program runs (',
      'left running while the program runs, nsenter',
      'a Node process left while the program runs',
      'helper loading a 4 MiB target environ',
      'helper binary, linux-x64',
      ...['1234567', 'docker:nope', 'podman:nope', 'containerd:default/nope', 'k8s:default/nope/app', 'nspawn:nope', 'lxc:nope', 'cgroup:/nope', 'pidfile:/nope.pid', 'netns:nope'].map((name) => `\`nsctl -t ${name} -n true\`: none → 3000 idle`),
      '`nsctl --list-targets`: none → 3000 idle',
    ];
    for (const row of rows) expect(result.stdout).toContain(`| ${row}`);
    const target = /target PID (\d+)/.exec(result.stderr)?.[1];
    expect(target).toBeDefined();
    // Gone, or a zombie: this machine's PID 1 does not always reap orphans, and a zombie runs nothing.
    expect(processState(Number(target))).toMatch(/^(gone|Z)$/);
    // And the scaling rows' idle processes, every one of them.
    const idle = /3000 idle processes under PID (\d+): ([\d ]+)/.exec(result.stderr);
    expect(idle).not.toBeNull();
    const pids = [idle![1]!, ...idle![2]!.trim().split(' ')].map(Number);
    expect(pids.length).toBe(3001);
    expect(pids.map(processState).filter((state) => !/^(gone|Z)$/.test(state))).toEqual([]);
  }, 320_000);
});

function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return 'gone';
  }
}
