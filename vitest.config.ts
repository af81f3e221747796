import { defineConfig } from 'vitest/config';

/**
 * Two projects:
 * - `unit`: pure modules and the emulators (in-process HTTP servers); no Temporal, no Postgres.
 * - `integration`: the real stack. Its global setup starts one Temporal dev server and one Postgres per run
 *   and builds the workflow bundle once.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/emulators/**/*.test.ts'],
          testTimeout: 30_000,
          expect: { requireAssertions: true },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // expect.poll's 1 s default is too short for a round trip through Temporal on a loaded 2-core machine.
          expect: { requireAssertions: true, poll: { timeout: 15_000 } },
          // One Temporal server and one Postgres are shared; files run one at a time so tests do not
          // compete for the two cores and measure each other's load.
          fileParallelism: false,
        },
      },
    ],
  },
});
