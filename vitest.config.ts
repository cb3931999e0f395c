import { defineConfig } from 'vitest/config';

// Integration tests start real Dovecot and SMTP servers and spawn the built CLI, so they need
// generous timeouts; two forked workers match the two cores CI has, and forks (not threads) keep
// each test file's servers, signal handlers and exit hooks in a process of its own.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    watch: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
