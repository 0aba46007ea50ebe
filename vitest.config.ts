import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // `npm test` runs the e2e directory separately with --no-file-parallelism: its files share
    // one machine's CPU, image cache and bridges.
    pool: 'forks',
  },
});
