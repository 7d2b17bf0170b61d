import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The ASan pass is a step of its own in .ci/run (see the file); a plain run leaves it out
    // rather than counting it as skipped.
    exclude: process.env['NSCTL_TEST_ASAN'] === '1' ? configDefaults.exclude : [...configDefaults.exclude, 'test/helper/asan.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Integration tests start real processes in real namespaces; a slow CI machine needs room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
