// Naming a container must not cost more on a host with many processes (docs/targets.md, "What a
// look-up costs"). Not timed (scripts/bench times it): with 500 idle processes started here, strace
// counts the /proc/PID files each kind of look-up opens, which must stay a handful — a walk of every
// process opened one or more per process.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/gate.ts';
import { scratch } from '../support/helper.ts';
import { NSCTL } from '../support/targets.ts';

const IDLE = 500;
const enabled = needs('root', 'strace');

describe.runIf(enabled)(`resolution with ${IDLE} idle processes on the host`, () => {
  let parent = 0;
  const children = (): number[] => readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);

  beforeAll(async () => {
    // One sh starts them all, then becomes a sleep itself: every idle process is its child.
    const sh = spawn('sh', ['-c', 'i=0; while [ $i -lt "$1" ]; do sleep 1000 & i=$((i+1)); done; exec sleep 1000', 'sh', String(IDLE)], { stdio: 'ignore' });
    parent = sh.pid!;
    for (let i = 0; i < 3000 && !(children().length >= IDLE && readFileSync(`/proc/${parent}/comm`, 'utf8') === 'sleep\n'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(children().length).toBe(IDLE);
  }, 60_000);

  afterAll(() => {
    if (parent !== 0) {
      for (const pid of [...children(), parent]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });

  /** How many files under /proc/PID/ (any PID) `nsctl ARGS` opens, the helper included. */
  function procOpens(args: readonly string[]): number {
    const log = join(scratch(), 'strace.log');
    const ran = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,open', '-o', log, NSCTL, ...args], { encoding: 'utf8' });
    expect(ran.error).toBeUndefined();
    return readFileSync(log, 'utf8').split('\n').filter((line) => /open(at)?\(.*"\/proc\/[0-9]+\//.test(line)).length;
  }

  const kinds = ['docker:nope', 'podman:nope', 'containerd:default/nope', 'k8s:default/nope/app', 'nspawn:nope', 'lxc:nope', 'cgroup:/nope', 'pidfile:/nope.pid', 'netns:nope'];
  it.each(kinds)('-t %s opens a handful of /proc/PID files, not one per process', (name) => {
    expect(procOpens(['-t', name, '-n', 'true'])).toBeLessThan(20);
  });

  it('--list-targets too', () => {
    expect(procOpens(['--list-targets'])).toBeLessThan(20);
  });
});
