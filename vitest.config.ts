import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/jobs/ holds CI jobs (the ASan pass, the fuzz run, the bench smoke run), each a step of
    // its own in .ci/run, started by path with NSCTL_TEST_JOBS=1. A plain run leaves the folder
    // out rather than counting its files as skipped.
    exclude: process.env['NSCTL_TEST_JOBS'] === '1' ? configDefaults.exclude : [...configDefaults.exclude, 'test/jobs/**'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Integration tests start real processes in real namespaces; a slow CI machine needs room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
