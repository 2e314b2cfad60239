import { defineConfig } from 'vitest/config';

/**
 * Two tiers. `unit`: in-process tests of one part at a time, no emulator, no child process, no
 * server (`npm run test:unit`, seconds). `e2e`: the built CLI against the emulator, child
 * processes, PostgreSQL and a terminal. `npm test` runs both.
 */
export default defineConfig({
  test: {
    // Bounds for a test that hangs, not for how fast one runs: the suite must pass with both cores
    // busy, where a campaign test takes several times as long as on an idle machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Tests that start emulators and child processes share two cores: keep the pool small.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/*.test.ts'],
          // One throwaway PostgreSQL cluster for the run, shared by the test files (test/helpers/postgres.ts).
          globalSetup: ['test/helpers/postgres-global-setup.ts'],
        },
      },
    ],
  },
});
