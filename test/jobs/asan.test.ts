// One full pass of the helper's tests with the ASan + UBSan build: scripts/build-helper-asan, then
// the test files listed below by path once more in a nested vitest, with NSCTL_TEST_HELPER pointing
// at the sanitized binary (and NSCTL_HELPER too, for any file that starts nsctl). Any sanitizer
// report aborts the helper (helper/fuzz/sanitizer-options.c), which fails the test that ran it.
//
// It must not run beside the first pass (tests that stop and start shared daemons would race their
// own twins), so it is a CI job (test/jobs/, left out of `npm test` by vitest.config.ts), a step of
// its own in .ci/run:
//
//   NSCTL_TEST_JOBS=1 npx vitest run test/jobs/asan.test.ts
//
// It needs clang and libclang-rt-14-dev and fails without them. The files run one at a
// time: the sanitized helper is slower, and some tests are timing-sensitive.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const nested = process.env['NSCTL_ASAN_PASS'] === '1';
const haveClang = spawnSync('clang', ['--version']).status === 0;

/**
 * The files whose subject is the helper binary, each running it through te../support/helper.ts
 * (HELPER, check, run). By path, never by a pattern: a new file joins the pass by being added here.
 * Not here: the prebuilt helpers under qemu (test/helper/prebuilds.test.ts), the fuzzer, which has
 * sanitizers of its own (test/jobs/decode.fuzz.test.ts), and files that only ask `--check`
 * whether a plan of theirs is valid (test/plan/build.property.test.ts).
 */
const HELPER_TESTS = [
  'test/helper/frames.test.ts',
  'test/helper/hardening.test.ts',
  'test/helper/exec-context.test.ts',
  'test/helper/pty.test.ts',
  'test/helper/mounts.test.ts',
  'test/kernel/tables.test.ts',
  'test/wire/encode.property.test.ts',
];

describe.runIf(!nested)('the helper tests against the ASan + UBSan helper', () => {
  it('pass with the sanitized helper, with no sanitizer report', () => {
    if (!haveClang) throw new Error('the ASan pass needs clang and libclang-rt-14-dev');
    const build = spawnSync(join(ROOT, 'scripts/build-helper-asan'), { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const helper = build.stdout.trim();
    const r = spawnSync(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--reporter=dot', '--no-file-parallelism', ...HELPER_TESTS], {
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
    expect(plain).toMatch(new RegExp(`Test Files\\s+${HELPER_TESTS.length} passed`));
    expect(plain).toMatch(/Tests\s+\d+ passed \(\d+\)/);
  }, 16 * 60 * 1000);
});
