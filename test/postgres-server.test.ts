// The PostgreSQL the tests get (test/helpers/postgres.ts) is a real server, reached as the product
// reaches one, and each test's database is its own.
import { existsSync } from 'node:fs';
import pg from 'pg';
import { assert, describe, expect, it } from 'vitest';
import { freshDatabase, postgresOrSkip, startPrivatePostgres, terminateConnections } from './helpers/postgres.js';

const postgres = postgresOrSkip();

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client(url);
  await client.connect();
  return client;
}

async function queryOnce<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = await connected(url);
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(postgres.skip)('the test PostgreSQL server', () => {
  it('is a real PostgreSQL on 127.0.0.1, where the test role logs in with its password over TCP', async () => {
    assert(postgres.skip === undefined);
    const { url, port, password } = postgres;
    expect(url).toBe(`postgres://pushcast:${password}@127.0.0.1:${port}/pushcast`);
    const [server] = await queryOnce<{ version: string; role: string; database: string; address: string; port: number; connections: string }>(
      url,
      "SELECT version(), current_user AS role, current_database() AS database, host(inet_server_addr()) AS address, inet_server_port() AS port, current_setting('max_connections') AS connections",
    );
    expect(server.version).toMatch(/^PostgreSQL \d+/);
    // inet_server_addr() is null over a Unix socket: this connection came over TCP.
    expect(server).toMatchObject({ role: 'pushcast', database: 'pushcast', address: '127.0.0.1', port, connections: '200' });

    const wrong = new URL(url);
    wrong.password = 'not-the-password';
    await expect(connected(wrong.href)).rejects.toMatchObject({ code: '28P01' }); // invalid_password
  });

  it('gives each test a database of its own, owned by the test role', async () => {
    const first = await freshDatabase('isolated');
    const second = await freshDatabase('isolated');
    expect(new URL(first).pathname).toMatch(/^\/isolated_[0-9a-f]{8}$/);
    expect(new URL(second).pathname).not.toBe(new URL(first).pathname);

    await queryOnce(first, "CREATE TABLE devices (token text PRIMARY KEY); INSERT INTO devices VALUES ('a'), ('b')");
    expect(await queryOnce(second, "SELECT to_regclass('devices') AS found")).toEqual([{ found: null }]);
    await queryOnce(second, "CREATE TABLE devices (token text PRIMARY KEY); INSERT INTO devices VALUES ('c')");
    expect(await queryOnce(first, 'SELECT token FROM devices ORDER BY token')).toEqual([{ token: 'a' }, { token: 'b' }]);
    expect(await queryOnce(second, 'SELECT token FROM devices')).toEqual([{ token: 'c' }]);
    expect(await queryOnce(first, 'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()')).toEqual([{ owner: 'pushcast' }]);
  });

  it('terminateConnections ends a held connection: its client gets an error event, and new ones work', async () => {
    const url = await freshDatabase('terminated');
    const held = await connected(url);
    const error = new Promise<Error>((resolve) => held.on('error', resolve));

    expect(await terminateConnections(url)).toBe(1);
    expect((await error).message).toMatch(/terminating connection due to administrator command/);
    await expect(held.query('SELECT 1')).rejects.toThrow();
    expect(await queryOnce(url, 'SELECT 1 AS alive')).toEqual([{ alive: 1 }]);
  });

  it('a private server stops and starts again on the same URL, keeping its data, and close() removes it', async () => {
    const server = await startPrivatePostgres();
    try {
      await queryOnce(server.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
      const held = await connected(server.url);
      const dropped = new Promise<Error>((resolve) => held.on('error', resolve));

      await server.stop();
      await dropped;
      await expect(connected(server.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

      await server.start();
      expect(await queryOnce(server.url, 'SELECT n FROM kept')).toEqual([{ n: 7 }]);
    } finally {
      await server.close();
    }
    expect(existsSync(server.folder)).toBe(false);
    await expect(connected(server.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
