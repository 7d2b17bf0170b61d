// --explain and --json on particular command lines and machines, against files kept under
// golden/: NAME.txt is the --explain text, NAME.json the --json document, compared byte for byte.
// The machine is described here (facts and inodes), so the files do not depend on the test VM.
//
// To change the files on purpose, after changing the wording or the document:
//
//   NSCTL_UPDATE_GOLDEN=1 npx vitest run test/explain/explain.golden.test.ts     (or: npm run golden)
//
// then read the diff of test/explain/golden/ before committing it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseArgs, type TargetName } from '../../src/cli/index.ts';
import { documentJson, explainPlan, explanationText, type ExplainInput } from '../../src/explain/index.ts';
import { NAMESPACES, type Namespace } from '../../src/kernel/namespaces.ts';
import { buildPlan } from '../../src/plan/index.ts';
import type { NamespaceInodes, SystemFacts } from '../../src/procfs/index.ts';
import type { Resolution } from '../../src/targets/index.ts';

const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const UPDATE = process.env['NSCTL_UPDATE_GOLDEN'] === '1';

const ALL = new Set<Namespace>(NAMESPACES);
/** As root on a 5.8+ kernel, the target in all its own namespaces but user and time. */
const root: SystemFacts = {
  supported: ALL,
  targetUserNsIsOurs: true,
  pidfdSetns: true,
  target: { ok: true, start: 81234n },
  ownNamespaces: new Set(['user', 'time']),
  canJoinOwnMount: true,
};
const target = (base: bigint): Partial<Record<Namespace, bigint>> => Object.fromEntries(NAMESPACES.map((ns, i) => [ns, base + BigInt(i)]));
const inodes: NamespaceInodes = { target: { ...target(4026532180n), user: 4026531837n, time: 4026531834n }, files: new Map() };
const env = ['HOME=/root', 'PATH=/usr/local/bin:/usr/bin:/bin', 'SHELL=/bin/bash', 'TERM=xterm'];

interface Case {
  readonly argv: readonly string[];
  readonly facts?: SystemFacts;
  readonly inodes?: NamespaceInodes;
  readonly env?: readonly string[];
  /** `-t KIND:NAME`: what the resolver found (the options then carry its PID, as main makes them). */
  readonly named?: { readonly target: TargetName; readonly resolution?: Resolution; readonly file?: string };
}

const CASES: Readonly<Record<string, Case>> = {
  // The README's example.
  'all-root': { argv: ['-t', '4242', '-a', 'sh'] },
  'login-shell': { argv: ['-t', '4242', '-a'] },
  'login-shell-no-shell': { argv: ['-t', '4242', '-a'], env: ['PATH=/usr/bin:/bin'] },
  'old-kernel-files': { argv: ['-t', '4242', '-n', '-u', '-m', 'ip', 'addr'], facts: { ...root, pidfdSetns: false } },
  'named-files': {
    argv: ['--net=/run/netns/blue', '--uts=/tmp/uts', '/usr/sbin/ip', 'addr'],
    inodes: { target: {}, files: new Map([['/run/netns/blue', 4026532500n]]) },
  },
  'root-and-cwd': { argv: ['-t', '4242', '-m', '-r', '-w', 'pwd'] },
  'root-saved-cwd': { argv: ['-t', '4242', '-m', '-r', 'pwd'] },
  'wdns': { argv: ['-t', '4242', '-m', '-W/srv', 'ls'] },
  'env-without-mount': { argv: ['-t', '4242', '-n', '-e', '-S', '1000', '-G', '1000', 'env'] },
  'env-with-mount': { argv: ['-t', '4242', '-a', '-e', 'env'] },
  'rootless-all': {
    argv: ['-t', '4242', '-a', 'id'],
    facts: {
      ...root,
      targetUserNsIsOurs: false,
      ownNamespaces: new Set(['cgroup', 'ipc', 'pid', 'mnt', 'time']),
      canJoinOwnMount: false,
      setgroupsDenied: true,
    },
    inodes: { target: { ...target(4026532480n), cgroup: 4026531835n, ipc: 4026531839n, pid: 4026531836n, mnt: 4026531832n, time: 4026531834n }, files: new Map() },
  },
  'nested-user-namespaces': {
    argv: ['-t', '4242', '-U', '-n', '-u', 'id'],
    facts: {
      ...root,
      targetUserNsIsOurs: undefined,
      userNamespaces: { target: 4026532700n, ours: 4026531837n, parents: [4026532600n, 4026531837n], owners: { net: 4026532600n, uts: 4026532700n } },
    },
    inodes: { target: { user: 4026532700n, net: 4026532601n, uts: 4026532701n }, files: new Map() },
  },
  'user-parent': { argv: ['-t', '4242', '--user-parent', '-n', 'true'] },
  'net-socket': { argv: ['-t', '4242', '-N', '3', 'ss', '-tlnp'] },
  'join-cgroup': { argv: ['-t', '4242', '-c', '-n', 'true'], facts: { ...root, cgroup: { kind: 'v2', path: '/system.slice/app.service' } } },
  'no-fork': { argv: ['-t', '4242', '-p', '-F', 'true'] },
  'follow-keep-caps': { argv: ['-t', '4242', '-U', '-S', 'follow', '-G', 'follow', '--keep-caps', 'id'], facts: { ...root, targetUserNsIsOurs: undefined } },
  'pid-inode': { argv: ['-t', '4242:1234567', '-n', 'true'] },
  'preserve-credentials': { argv: ['-t', '4242', '-U', '-m', '--preserve-credentials', 'id'], facts: { ...root, targetUserNsIsOurs: undefined } },
  'docker': {
    argv: ['-t', 'docker:web', '-a', 'sh'],
    named: {
      target: { kind: 'docker', name: 'web' },
      resolution: {
        target: { kind: 'docker', name: 'web' },
        id: '3f2a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8',
        identity: { pid: 4242, startTime: 81234n, cgroup: '0::/system.slice/docker-3f2a.scope\n' },
        source: 'docker API at /var/run/docker.sock',
      },
    },
  },
  'netns': { argv: ['-t', 'netns:blue', 'ip', 'addr'], named: { target: { kind: 'netns', name: 'blue' }, file: '/run/netns/blue' }, inodes: { target: {}, files: new Map([['/run/netns/blue', 4026532500n]]) } },
  'odd-arguments': { argv: ['-t', '4242', '-u', 'printf', '%s\\n', 'two words', '\u001b[2J'] },
};

/** What main builds for one command line: parse, resolve (as given), plan, then the explain input. */
function inputFor(c: Case, argv: readonly string[]): ExplainInput {
  const parsed = parseArgs(argv);
  if (parsed.options === undefined) throw new Error(`does not parse: ${argv.join(' ')}`);
  let options = parsed.options;
  let earlyFiles = parsed.earlyFiles;
  if (c.named?.resolution !== undefined) options = { ...options, target: c.named.resolution.identity.pid, targetName: undefined };
  if (c.named?.file !== undefined) {
    options = { ...options, targetName: undefined, target: undefined, namespaces: { ...options.namespaces, net: { from: 'file', early: earlyFiles.length } } };
    earlyFiles = [...earlyFiles, { path: c.named.file }];
  }
  const facts = c.facts ?? root;
  const planned = buildPlan(options, earlyFiles, facts, { env: c.env ?? env });
  if (!planned.ok) throw new Error(planned.message);
  const named = c.named === undefined ? undefined : { target: c.named.target, resolution: c.named.resolution, files: c.named.file === undefined ? [] : [{ path: c.named.file }] };
  return { argv, options, named, facts, inodes: c.inodes ?? inodes, plan: planned.plan, notes: planned.notes };
}

function golden(file: string, actual: string): void {
  const path = `${GOLDEN}${file}`;
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `${path} is missing: NSCTL_UPDATE_GOLDEN=1 makes it`).toBe(true);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('--explain and --json against the golden files', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: nsctl ${c.argv.join(' ')}`, () => {
      golden(`${name}.txt`, explanationText(explainPlan(inputFor(c, ['--explain', ...c.argv]))));
      golden(`${name}.json`, documentJson(explainPlan(inputFor(c, ['--json', ...c.argv]))));
    });
  }
});

describe('docs/json.md', () => {
  it('names every field the golden documents hold, and their version', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/json.md', import.meta.url)), 'utf8');
    const keys = new Set<string>();
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          keys.add(key);
          // A step's `fields` are its record's, documented in docs/plan-format.md.
          if (key !== 'fields') walk(inner);
        }
      }
    };
    for (const name of Object.keys(CASES)) walk(JSON.parse(readFileSync(`${GOLDEN}${name}.json`, 'utf8')));
    for (const key of keys) expect(doc, key).toContain(`\`${key}\``);
    expect(doc).toContain('(version 1)');
  });
});
