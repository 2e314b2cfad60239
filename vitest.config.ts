import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that start emulators and child processes share two cores: keep the pool small.
    maxWorkers: 2,
    // One throwaway PostgreSQL cluster for the run, shared by the test files (test/helpers/postgres.ts).
    globalSetup: ['test/helpers/postgres-global-setup.ts'],
  },
});
