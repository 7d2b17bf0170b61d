// `-t KIND:NAME` and `--list-targets` on the command line (docs/targets.md): extensions that change the
// meaning of no command line nsenter 2.42 accepts.
import { describe, expect, test } from 'vitest';
import { parseArgs } from '../../src/cli/index.ts';
import { NSENTER_OPTIONS } from '../../src/cli/parse.ts';
import { matchCandidates, matchProblem, type Candidate } from '../../src/targets/match.ts';
import { parseDockerHost } from '../../src/targets/parsers.ts';

const options = (argv: string[]) => {
  const parsed = parseArgs(argv);
  if (parsed.stop !== undefined) throw new Error(JSON.stringify(parsed.stop));
  return parsed.options!;
};

describe('-t KIND:NAME', () => {
  test.each([
    ['docker:web', 'docker', 'web'],
    ['docker://web', 'docker', 'web'],
    ['podman:8381b5c0', 'podman', '8381b5c0'],
    ['containerd:k8s.io/abc', 'containerd', 'k8s.io/abc'],
    ['k8s:default/web/app', 'k8s', 'default/web/app'],
    ['cgroup:/docker/abc', 'cgroup', '/docker/abc'],
    ['pidfile:/run/x.pid', 'pidfile', '/run/x.pid'],
    ['netns:blue', 'netns', 'blue'],
    ['nspawn:m', 'nspawn', 'm'],
    ['lxc:c1', 'lxc', 'c1'],
  ])('%s names a %s target', (value, kind, name) => {
    const parsed = options(['-t', value, '-a']);
    expect(parsed.targetName).toEqual({ kind, name });
    expect(parsed.target).toBeUndefined();
  });

  test('numeric targets keep their meaning, and the last -t wins either way', () => {
    expect(options(['-t', '5']).targetName).toBeUndefined();
    expect(options(['-t', 'docker:web', '-t', '5'])).toMatchObject({ target: 5, targetName: undefined });
    expect(options(['-t', '5', '--target=docker:web'])).toMatchObject({ target: undefined, targetName: { kind: 'docker', name: 'web' } });
    expect(options(['-t', '5:77']).targetInode).toBe(77n);
  });

  test('unknown kinds, upper case and an empty name stay errors', () => {
    expect(parseArgs(['-t', 'foo:bar']).stop).toEqual({ kind: 'error', message: 'invalid PID argument' });
    expect(parseArgs(['-t', 'DOCKER:web']).stop).toEqual({ kind: 'error', message: 'invalid PID argument' });
    expect(parseArgs(['-t', 'docker:']).stop).toEqual({ kind: 'error', message: "invalid target 'docker:': a name must follow 'docker:'" });
  });
});

describe('--list-targets', () => {
  test('stops with list-targets, and any prefix of it selects it', () => {
    expect(parseArgs(['--list-targets']).stop).toEqual({ kind: 'list-targets', verbose: false });
    expect(parseArgs(['--l']).stop).toEqual({ kind: 'list-targets', verbose: false });
    expect(parseArgs(['--list-targets=x']).stop).toEqual({ kind: 'usage', message: "option '--list-targets' doesn't allow an argument" });
  });

  test('no prefix that selected one of nsenter\'s long options becomes ambiguous', () => {
    const nsenterNames = NSENTER_OPTIONS.long.map((o) => o.name).filter((n) => n !== 'list-targets');
    for (const name of nsenterNames) {
      for (let cut = 1; cut <= name.length; cut++) expect('list-targets'.startsWith(name.slice(0, cut))).toBe(false);
    }
  });
});

describe('messages for a word that is not exactly one running container', () => {
  const c = (id: string, name: string, running: boolean): Candidate => ({ id, names: [name], running, pid: running ? 10 : undefined, state: running ? 'running' : 'exited' });
  const a = c('ab'.repeat(32), 'web', true);
  const b = c('ac'.repeat(32), 'db', false);
  test('unknown, ambiguous and stopped each say so', () => {
    expect(matchProblem('docker:x', matchCandidates('x', [a, b]))).toBe('docker:x: no such container');
    expect(matchProblem('docker:a', matchCandidates('a', [a, b]))).toBe('docker:a: matches 2 containers: web (abababababab), db (acacacacacac)');
    expect(matchProblem('docker:db', matchCandidates('db', [a, b]))).toBe('docker:db: container db (acacacacacac) is not running (exited)');
    expect(matchProblem('docker:web', matchCandidates('/web', [a, b]))).toBeUndefined();
  });

  test('names, IDs and states from an engine are printed escaped, never raw', () => {
    const hostile: Candidate = { id: 'abab\x1b[', names: ['web\x1b]0;owned\x07\n'], running: false, pid: undefined, state: 'exited\r' };
    const message = matchProblem('docker:web', { kind: 'one', candidate: hostile })!;
    expect(message).toBe('docker:web: container web\\x1b]0;owned\\x07\\x0a (abab\\x1b[) is not running (exited\\x0d)');
    expect(message).toMatch(/^[\x20-\x7e]*$/);
    const several = matchProblem('docker:a', { kind: 'several', candidates: [hostile, { ...hostile, names: ['caf\u00e9'] }] })!;
    expect(several).toMatch(/^[\x20-\x7e]*$/);
    expect(several).toContain('caf\\xc3\\xa9');
  });

  test('DOCKER_HOST: unix sockets only', () => {
    expect(parseDockerHost('unix:///run/user/1000/docker.sock')).toEqual({ kind: 'unix', path: '/run/user/1000/docker.sock' });
    expect(parseDockerHost('tcp://1.2.3.4:2375')).toEqual({ kind: 'unsupported', value: 'tcp://1.2.3.4:2375' });
  });
});
