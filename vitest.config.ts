import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // `npm test` runs the e2e directory separately, two files at a time (--maxWorkers=2): each
    // suite has its own cluster name and subnet, the image and package caches take a lock, and
    // most of a suite's time is spent waiting on Patroni, etcd and systemd, not on the CPU.
    pool: 'forks',
  },
});
