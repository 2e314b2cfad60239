// A real PostgreSQL for the test files. The run's cluster is started once by vitest's main process
// (postgres-global-setup.ts) and shared: isolate a test with a database of its own
// (freshDatabase), never by stopping the shared server; a test that needs the server down starts
// one of its own (startPrivatePostgres).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { findPostgres, startPostgres, type PostgresAccess, type PostgresCluster } from './postgres-cluster.js';
import { waitFor } from './wait-for.js';

export type { PostgresAccess, PostgresCluster };

/**
 * The run's cluster, or `{ skip: why }` when this machine has no PostgreSQL (tests that need it are
 * skipped: `describe.skipIf(postgres.skip)`). One that is installed but did not start fails the file.
 */
export function postgresOrSkip(): (PostgresAccess & { skip?: undefined }) | { skip: string } {
  const provided = inject('postgres') ?? { skip: 'vitest.config.ts has no globalSetup test/helpers/postgres-global-setup.ts' };
  if ('failed' in provided) throw new Error(`PostgreSQL: ${provided.failed}`);
  return provided;
}

function sharedCluster(): PostgresAccess {
  const postgres = postgresOrSkip();
  if (postgres.skip !== undefined) throw new Error(`no PostgreSQL for this test: ${postgres.skip}`);
  return postgres;
}

/** Clusters this test file started: terminateConnections() finds their superuser by the URL's port. */
const privateClusters: PostgresCluster[] = [];

/**
 * A cluster of this test file's own, to stop and start (a server that goes away and comes back)
 * without disturbing the files that share the run's cluster. Close it in afterAll.
 */
export async function startPrivatePostgres(): Promise<PostgresCluster> {
  const install = findPostgres();
  if ('missing' in install) throw new Error(`no PostgreSQL for this test: ${install.missing}`);
  const cluster = await startPostgres(install);
  privateClusters.push(cluster);
  return cluster;
}

/**
 * A new, empty database owned by the test role, on the run's cluster (or `on` another), and the URL
 * to reach it as that role. Its name is `prefix` and a random suffix, so tests never share one.
 */
export async function freshDatabase(prefix = 'test', on: PostgresAccess = sharedCluster()): Promise<string> {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`database prefix ${JSON.stringify(prefix)}: lower-case letters, digits and _ only`);
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await asSuperuser(on.adminUrl, (admin) => admin.query(`CREATE DATABASE ${name} OWNER ${on.user}`));
  const url = new URL(on.url);
  url.pathname = `/${name}`;
  return url.href;
}

/**
 * Ends every connection to the database of `databaseUrl` (pg_terminate_backend), as a server
 * restart or a DBA would: their clients get an error event. Resolves, with how many it ended, once
 * those connections are gone.
 */
export async function terminateConnections(databaseUrl: string): Promise<number> {
  const target = new URL(databaseUrl);
  const clusters = [...privateClusters, ...(postgresOrSkip().skip === undefined ? [sharedCluster()] : [])];
  const cluster = clusters.find((candidate) => candidate.host === target.hostname && String(candidate.port) === target.port);
  if (!cluster) throw new Error(`${target.host} is not a cluster this test file can reach as superuser`);
  const database = decodeURIComponent(target.pathname.slice(1));
  return asSuperuser(cluster.adminUrl, async (admin) => {
    // Materialized first, so the superuser's own connection is never a candidate, whatever order the planner picks.
    const { rows } = await admin.query<{ pid: number }>(
      'WITH others AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) SELECT pid FROM others WHERE pg_terminate_backend(pid)',
      [database],
    );
    const pids = rows.map((row) => row.pid);
    await waitFor(
      async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)', [pids])).rowCount === 0,
      `the ${pids.length} terminated connections to ${database} to end`,
    );
    return pids.length;
  });
}

async function asSuperuser<T>(adminUrl: string, work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
