// The Node API as a user gets it: `npm pack`, installed offline into an empty ESM project, then a
// TypeScript consumer type-checked against the shipped declarations (and one that must not
// type-check), compiled, and run against a real target.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exec, pack, REPO, scratch, toolsDir, type Ran } from '../support/pack.ts';
import { needs } from '../support/gate.ts';
import { nsLink, startTarget, type Target } from '../support/targets.ts';

const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

/** A consumer that uses every part of the API, typed; it prints what it saw as one JSON line. */
const CONSUMER = `
import { explain, NsctlError, plan, PLAN_DOCUMENT_VERSION, run, type NamespaceEntry, type Plan, type Running } from 'nsctl';

const target = process.env['TARGET']!;
const seen: Record<string, unknown> = {};

const doc: Plan = await plan(['-t', target, '-n', '-u', 'true']);
const net: NamespaceEntry | undefined = doc.namespaces.find((n) => n.type === 'net');
seen['plan'] = { version: doc.version === PLAN_DOCUMENT_VERSION, net: net?.inode ?? null, pid: doc.target?.pid ?? null, start: doc.target?.startTime ?? null };
seen['explain'] = await explain(['-t', target, '-u', 'hostname']);
for (const argv of [['-n', 'true'], ['-t', target, '--bogus']]) {
  try {
    await plan(argv);
    seen[argv.join(' ')] = 'resolved';
  } catch (error) {
    if (!(error instanceof NsctlError)) throw error;
    seen[argv.join(' ')] = { name: error.name, message: error.message, exitCode: error.exitCode };
  }
}

const child: Running<'pipe'> = run(['-t', target, '-u', 'sh', '-c', 'echo $$ $FOO; hostname; exit 3'], {
  stdio: 'pipe',
  env: { PATH: process.env['PATH']!, FOO: 'bar' },
});
let out = '';
child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
seen['run'] = { pid: child.pid, exited: await child.exited, out };

// With a PID namespace the helper forks and supervises: a signal to it reaches the program.
const sleeper = run(['-t', target, '-p', 'sleep', '30'], { stdio: 'ignore' });
setTimeout(() => sleeper.kill('SIGTERM'), 300);
seen['killed'] = await sleeper.exited;

console.log(JSON.stringify(seen));
`;

/** Uses the API wrongly: each line must be a type error. */
const WRONG = `
import { plan, run } from 'nsctl';
const doc = await plan(['-t', '1', '-n', 'true']);
const inode: number = doc.namespaces[0]!.inode;
run(['true']).stdout.on('data', () => {});
run(['true'], { stdio: 'pipe' }).kill(42n);
`;

describe('the Node API from the packed tarball', () => {
  const dir = scratch('api');
  const project = join(dir, 'project');
  const tools = join(dir, 'tools');
  const env = { PATH: tools, HOME: dir, LC_ALL: 'C' };
  const tsc = (config: string): Ran => exec([join(tools, 'node'), TSC, '-p', join(project, config)], env, { cwd: project });

  beforeAll(() => {
    toolsDir(tools, ['sh', 'hostname', 'sleep', 'true']);
    const { tarball } = pack(dir);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const install = exec(
      ['npm', 'install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier', '--cache', join(dir, 'cache'), tarball],
      env,
      { cwd: project },
    );
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);
    writeFileSync(join(project, 'consumer.ts'), CONSUMER);
    writeFileSync(join(project, 'wrong.ts'), WRONG);
    // @types/node from this checkout; nsctl's own types from the installed package. skipLibCheck
    // off: the shipped declarations themselves are checked too.
    const options = {
      module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: false,
      types: ['node'], typeRoots: [join(REPO, 'node_modules/@types')], outDir: 'out',
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['consumer.ts'] }));
    writeFileSync(join(project, 'tsconfig.wrong.json'), JSON.stringify({ compilerOptions: { ...options, noEmit: true }, files: ['wrong.ts'] }));
  });

  it('ships ESM with its types and no dependencies: the installed manifest exports them', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/nsctl/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['type']).toBe('module');
    expect(manifest['exports']).toEqual({ '.': { types: './dist/types/api/index.d.ts', import: './dist/api.js' }, './package.json': './package.json' });
    expect(manifest['dependencies']).toBeUndefined();
    const loaded = exec([join(tools, 'node'), '--input-type=module', '-e', "const api = await import('nsctl'); console.log(Object.keys(api).sort().join(' '))"], env, { cwd: project });
    expect(loaded).toEqual({ stdout: 'NsctlError PLAN_DOCUMENT_VERSION explain plan run\n', stderr: '', status: 0 });
  });

  it('type-checks a consumer against the shipped declarations, and refuses wrong uses', () => {
    expect(tsc('tsconfig.json')).toEqual({ stdout: '', stderr: '', status: 0 });
    const wrong = tsc('tsconfig.wrong.json');
    expect(wrong.status).not.toBe(0);
    const lines = wrong.stdout.split('\n').filter((line) => line.startsWith('wrong.ts('));
    // One error per wrong line (4, 5, 6): a string | null inode, stdout null without pipes, a bigint signal.
    expect(lines.map((line) => /^wrong\.ts\((\d+),/.exec(line)?.[1])).toEqual(['4', '5', '6']);
  });

  describe.runIf(needs('root'))('run against a target', () => {
    let target: Target;
    beforeAll(async () => {
      target = await startTarget({ unshare: ['-u', '-n', '-p', '--fork'], setup: 'hostname web' });
    });

    it('plan, explain and run give what the command line gives, errors as NsctlError with its message and status', () => {
      const T = String(target.pid);
      const ran = exec([join(tools, 'node'), join(project, 'out/consumer.js')], { ...env, TARGET: T }, { cwd: project });
      expect(ran.stderr).toBe('');
      expect(ran.status).toBe(0);
      const seen = JSON.parse(ran.stdout) as Record<string, unknown>;
      const start = readFileSync(`/proc/${T}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
      expect(seen['plan']).toEqual({ version: true, net: /\[(\d+)\]/.exec(nsLink(target.pid, 'net'))![1], pid: target.pid, start });
      // The installed command line, in the same environment.
      const cli = exec([join(project, 'node_modules/.bin/nsctl'), '--explain', '-t', T, '-u', 'hostname'], { ...env, TARGET: T }, { cwd: project });
      expect(seen['explain']).toBe(cli.stdout);
      expect(seen['-n true']).toEqual({ name: 'NsctlError', message: 'nsctl: no target PID specified', exitCode: 1 });
      expect(seen[`-t ${T} --bogus`]).toEqual({
        name: 'NsctlError',
        message: "nsctl: unrecognized option '--bogus'\nTry 'nsctl --help' for more information.",
        exitCode: 1,
      });
      // Without a PID namespace, the process run() started is the program: $$ is its pid.
      const run = seen['run'] as { pid: number; exited: unknown; out: string };
      expect(run.exited).toEqual({ code: 3, signal: null });
      expect(run.out).toBe(`${run.pid} bar\nweb\n`);
      expect(seen['killed']).toEqual({ code: null, signal: 'SIGTERM' });
    });

    it("runs the README's example, which prints what the README shows (numbers aside)", () => {
      const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
      const section = readme.slice(readme.indexOf('\n## From Node\n'));
      const [, code, output] = /```js\n([\s\S]*?)```\n\n```\n\$ node enter\.mjs \d+\n([\s\S]*?)```/.exec(section) ?? [];
      expect(code, 'README.md: a js block and its output under "## From Node"').toBeDefined();
      writeFileSync(join(project, 'enter.mjs'), code!);
      const ran = exec([join(tools, 'node'), 'enter.mjs', String(target.pid)], env, { cwd: project });
      expect(ran.stderr).toBe('');
      expect(ran.status).toBe(0);
      const numbersAside = (text: string): string => text.replace(/[0-9]+/g, 'N');
      expect(numbersAside(ran.stdout)).toBe(numbersAside(output!));
    });
  });
});
