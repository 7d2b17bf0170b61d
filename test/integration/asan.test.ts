// One full pass of the helper's tests with the ASan + UBSan build (issue 7): scripts/build-helper-asan,
// then every test file that runs the helper (those that honour NSCTL_TEST_HELPER or start targets
// through test/support/targets.ts) once more in a nested vitest, with NSCTL_HELPER (for nsctl) and
// NSCTL_TEST_HELPER (for direct runs) pointing at the sanitized binary. Any sanitizer report aborts
// the helper (helper/fuzz/sanitizer-options.c), which fails the test that ran it.
//
// It must not run beside the first pass: tests that stop and start shared daemons (docker in
// engines.test.ts) would then race their own twins. So it runs only when asked, on its own:
//
//   NSCTL_TEST_ASAN=1 npx vitest run test/integration/asan.test.ts     (a separate step in .ci/run)
//
// Asked for, it needs clang and libclang-rt-14-dev and fails without them. The files run one at a
// time: the sanitized helper is slower, and the terminal and daemon tests are timing-sensitive.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const nested = process.env['NSCTL_ASAN_PASS'] === '1';
const haveClang = spawnSync('clang', ['--version']).status === 0;
const wanted = process.env['NSCTL_TEST_ASAN'] === '1';
const SELF = ['test/integration/asan.test.ts', 'test/unit/fuzz.test.ts'];
/**
 * Files that exercise something other than the helper, or that ignore NSCTL_HELPER: the engine
 * tests (daemons; the helper path is the same as enter.test.ts's), the packaging, rescue and
 * qemu tests (their own installed copies and helpers), and the benchmark.
 */
const NOT_HELPER = [
  'test/integration/engines.test.ts',
  'test/integration/package.test.ts',
  'test/integration/rescue.test.ts',
  'test/integration/qemu.test.ts',
  'test/integration/bench.test.ts',
];

/** Test files that run the helper: they read NSCTL_TEST_HELPER or go through nsctl and targets.ts. */
function helperTests(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.ts')) {
        const file = relative(ROOT, path);
        const text = readFileSync(path, 'utf8');
        if (!SELF.includes(file) && !NOT_HELPER.includes(file) && /NSCTL_TEST_HELPER|support\/targets/.test(text)) out.push(file);
      }
    }
  };
  walk(join(ROOT, 'test'));
  return out.sort();
}

describe.runIf(!nested && wanted)('the test suite against the ASan + UBSan helper', () => {
  it('passes every helper test with the sanitized helper, with no sanitizer report', () => {
    if (!haveClang) throw new Error('the ASan pass needs clang and libclang-rt-14-dev');
    const build = spawnSync(join(ROOT, 'scripts/build-helper-asan'), { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const helper = build.stdout.trim();
    const files = helperTests();
    expect(files).toEqual(expect.arrayContaining(['test/integration/enter.test.ts', 'test/unit/wire.test.ts']));
    const r = spawnSync(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--reporter=dot', '--no-file-parallelism', ...files], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NSCTL_HELPER: helper, NSCTL_TEST_HELPER: helper, NSCTL_ASAN_PASS: '1', FORCE_COLOR: '0' },
      timeout: 15 * 60 * 1000,
      maxBuffer: 256 * 1024 * 1024,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(output).not.toMatch(/AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/);
    expect(r.status, output.split('\n').slice(-80).join('\n')).toBe(0);
    // vitest colours its summary even with FORCE_COLOR=0 when CI is set; read it without colour.
    const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/Test Files\s+\d+ passed/);
    expect(plain).toMatch(/Tests\s+\d+ passed \(\d+\)/);
  }, 16 * 60 * 1000);
});
