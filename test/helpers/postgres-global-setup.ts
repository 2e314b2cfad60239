// vitest's globalSetup (vitest.config.ts): one PostgreSQL cluster for the whole run, started in
// vitest's main process before any test file and shared by all of them (test/helpers/postgres.ts).
import type { TestProject } from 'vitest/node';
import { findPostgres, startPostgres, type PostgresAccess } from './postgres-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's cluster; or why there is none (`skip`: no PostgreSQL here; `failed`: one is installed but did not start). */
    postgres: PostgresAccess | { skip: string } | { failed: string };
  }
}

export default async function startRunCluster(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const install = findPostgres();
  if ('missing' in install) {
    console.log(`PostgreSQL tests skipped: ${install.missing}`);
    project.provide('postgres', { skip: install.missing });
    return undefined;
  }
  try {
    const { folder: _folder, stop: _stop, start: _start, close, ...access } = await startPostgres(install);
    project.provide('postgres', access);
    return close;
  } catch (error) {
    // The tests that need the server fail, with this reason; the others run.
    project.provide('postgres', { failed: `${install.version} in ${install.binDir} did not start: ${(error as Error).message}` });
    return undefined;
  }
}
