import { defineConfig } from 'vitest/config';

/**
 * Files that assert the broker's latency guarantees (sessions ended within 100 ms of a revoke or
 * an anomaly, live output in the browser within 200 ms). On two cores, a neighbouring test file
 * (an sshd, a Chromium, a `seq` flood) can keep the OS from scheduling the target's processes for
 * longer than the budget, which says nothing about the broker. These run after the rest, one file
 * at a time, on a quiet machine.
 */
const timed = [
  'test/integration/anomaly-sessions.test.ts',
  'test/integration/anomaly-commands.test.ts',
  'test/integration/incident-resolution.test.ts',
  'test/e2e/web.test.ts',
];

const shared = {
  environment: 'node',
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: timed,
          // Integration tests start real sshd/ssh processes; two cores, so keep parallelism modest.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'timed',
          include: timed,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          // Benchmarks (bench/*.bench.ts) belong to the suite project: run them once.
          benchmark: { include: [] },
        },
      },
    ],
  },
});
