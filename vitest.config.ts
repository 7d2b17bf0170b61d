import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Integration tests start real processes in real namespaces; a slow CI machine needs room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
