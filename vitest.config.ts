import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // e2e files share one machine's containers: never run them concurrently.
    fileParallelism: true,
    pool: 'forks',
  },
});
