// The PostgreSQL registry as an app's backend and a fleet of senders meet it: the documented SQL
// run as written, errors that name the server and never the password, a connection lost mid-campaign.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, assert, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { freshDatabase, postgresOrSkip, terminateConnections } from './helpers/postgres.js';
import { root, spawnCli } from './helpers/spawn-cli.js';
import { fcmToken, tempDir, tempFile } from './helpers/tokens.js';
import { capLockSql, PostgresRegistry, postgresTarget } from '../src/registry/postgres-registry.js';
import { deviceKey } from '../src/registry/registry.js';
import { waitFor } from './helpers/wait-for.js';

const postgres = postgresOrSkip();
if (postgres.skip) console.log(`PostgreSQL registry tests skipped: ${postgres.skip}`);
const sql = (file: string) => readFileSync(join(root, 'schema/postgres', file), 'utf8');

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({});
});
afterAll(() => emulator?.close());
beforeEach(() => emulator.reset());

/** Runs statements on the registry's database as the app's backend would, with its own connection. */
async function asBackend<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe.skipIf(postgres.skip)('a PostgreSQL registry', () => {
  it("the backend's documented registration, refresh and logout, run as written, are what the next send sees", async () => {
    const url = await freshDatabase('backend');
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const cli = (...args: string[]) => spawnCli(args, { cwd: dir });
    expect((await cli('devices', '--registry', url, 'migrate')).code).toBe(0);
    // The registry's page gives these statements: they are the shipped files, word for word.
    const page = readFileSync(join(root, 'docs/registry.md'), 'utf8');
    expect(page).toContain(sql('register-device.sql'));
    expect(page).toContain(sql('logout-device.sql'));

    const first = fcmToken('backend-first');
    const refreshed = fcmToken('backend-refreshed');
    await asBackend(url, (client) => client.query(sql('register-device.sql'), ['u1', 'fcm', first, null, 'android', 'fa', 'Asia/Tehran', ['news'], null, null, null]));
    const message = tempFile('m.json', JSON.stringify({ title: 'Hello', locales: { fa: { title: 'سلام' } } }));
    writeFileSync(join(dir, 'users.csv'), 'user_id\nu1\n');
    const send = (campaign: string) => cli('send', '--config', config, '--registry', url, '-a', 'users.csv', '-m', message, '--campaign', campaign, '--json');
    expect((await send('one')).code).toBe(0);
    expect(emulator.delivered().map((delivered) => [delivered.token, (delivered.message as { notification?: { title?: string } }).notification?.title])).toEqual([[first, 'سلام']]);

    // A refresh: the new token replaces the old one and keeps its locale, time zone and channels.
    emulator.reset();
    await asBackend(url, (client) => client.query(sql('register-device.sql'), ['u1', 'fcm', refreshed, first, null, null, null, null, null, null, null]));
    const second = await send('two');
    expect(second.code).toBe(0);
    expect(emulator.delivered().map((delivered) => [delivered.token, (delivered.message as { notification?: { title?: string } }).notification?.title])).toEqual([
      [refreshed, 'سلام'],
    ]);
    const listed = JSON.parse((await cli('devices', '--registry', url, 'list', '--user', 'u1', '--json')).stdout);
    expect(listed).toEqual([expect.objectContaining({ token: refreshed, locale: 'fa', timezone: 'Asia/Tehran', channels: ['news'], platform: 'android', state: 'valid' })]);

    // A logout: the user is skipped, with why.
    emulator.reset();
    await asBackend(url, (client) => client.query(sql('logout-device.sql'), ['fcm', refreshed]));
    const third = await send('three');
    expect(emulator.delivered()).toEqual([]);
    expect(JSON.parse(third.stdout).skippedByReason).toEqual({ unregistered: 1 });
  });

  it('a server that refuses, or a wrong password, is one line naming the server, never the password', async () => {
    const dir = tempDir();
    const refused = await spawnCli(['devices', '--registry', 'postgres://someone:SECRET-PW-1@127.0.0.1:1/app', 'stats'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('pushcast: device registry postgres://someone@127.0.0.1:1/app: connection refused: is the server running, and on that host and port?\n');
    const url = new URL(await freshDatabase('password'));
    url.password = 'SECRET-PW-2';
    const wrong = await spawnCli(['devices', '--registry', url.href, 'stats'], { cwd: dir });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^pushcast: device registry postgres:\/\/\w+@127\.0\.0\.1:\d+\/password_\w+: password authentication failed for user "\w+"\n$/);
    expect(`${refused.stdout}${refused.stderr}${wrong.stdout}${wrong.stderr}`).not.toMatch(/SECRET-PW/);
  });

  it('doctor checks the registry: the schema, then the rights a send needs', async () => {
    assert(postgres.skip === undefined);
    const url = await freshDatabase('doctor');
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const doctor = (registry: string) => spawnCli(['doctor', '--config', config, '--registry', registry, '--json'], { cwd: dir });
    const before = await doctor(url);
    expect(before.code).toBe(2);
    expect(JSON.parse(before.stdout).registry).toEqual([
      expect.objectContaining({ ok: false, text: expect.stringContaining('has no pushcast schema "pushcast" yet'), next: 'pushcast devices migrate --registry URL' }),
    ]);
    expect((await spawnCli(['devices', '--registry', url, 'migrate'], { cwd: dir })).code).toBe(0);
    const after = await doctor(url);
    expect(after.code, after.stdout).toBe(0);
    expect(JSON.parse(after.stdout).registry.map((finding: { ok: boolean; text: string }) => [finding.ok, finding.text.replace(/[\d.]+ at/, 'N at')])).toEqual([
      [true, expect.stringMatching(/^PostgreSQL N at postgres:\/\/pushcast@127\.0\.0\.1:\d+\/doctor_\w+, as role pushcast$/)],
      [true, 'schema "pushcast" at version 3 of 3'],
      [true, 'may read and write pushcast.devices'],
      [true, 'may read and write pushcast.campaign_claims'],
    ]);
    // A role that may only read: a send would fail at its first claim.
    const reader = new URL(url);
    reader.username = `reader_${reader.pathname.slice(-8)}`;
    reader.password = 'reader-pw';
    await asBackend(postgres.adminUrl.replace(/\/[^/]*$/, reader.pathname), async (admin) => {
      await admin.query(`CREATE ROLE ${reader.username} LOGIN PASSWORD 'reader-pw'`);
      await admin.query(`GRANT USAGE ON SCHEMA pushcast TO ${reader.username}`);
      await admin.query(`GRANT SELECT ON pushcast.devices, pushcast.campaign_claims, pushcast.schema_version TO ${reader.username}`);
    });
    const readOnly = await doctor(reader.href);
    expect(readOnly.code).toBe(2);
    expect(JSON.parse(readOnly.stdout).registry[2]).toEqual({
      ok: false,
      text: `role ${reader.username} lacks INSERT, UPDATE, DELETE on pushcast.devices, which a send needs`,
      next: `GRANT SELECT, INSERT, UPDATE, DELETE ON pushcast.devices TO ${reader.username}`,
    });
    expect(readOnly.stdout).not.toContain('reader-pw');
  });

  it('a connection lost mid-campaign stops it as a full disk does (drain, report, exit 2); the same command again sends the rest, nobody twice', async () => {
    const url = await freshDatabase('lost');
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const users = 6000;
    const devices = ['provider,token,user_id', ...Array.from({ length: users }, (_, i) => `fcm,${fcmToken(`lost${i}`)},u${i}`)];
    writeFileSync(join(dir, 'devices.csv'), `${devices.join('\n')}\n`);
    writeFileSync(join(dir, 'users.csv'), `user_id\n${Array.from({ length: users }, (_, i) => `u${i}`).join('\n')}\n`);
    expect((await spawnCli(['devices', '--registry', url, 'import', 'devices.csv'], { cwd: dir })).code).toBe(0);
    const message = tempFile('m.json', JSON.stringify({ title: 'Hello' }));
    // --rate keeps the engine reading slowly, so that users are still to be resolved when the connection goes.
    const args = ['send', '--config', config, '--registry', url, '-a', 'users.csv', '-m', message, '--campaign', 'lost', '--rate', '400', '--json'];
    const run = spawnCli(args, { cwd: dir, timeoutMs: 120_000 });
    await waitFor(() => emulator.stats().accepted.fcm >= 300, 'the first sends', 60_000);
    expect(await terminateConnections(url)).toBeGreaterThan(0);
    const stopped = await run;
    expect(stopped.code, stopped.stderr).toBe(2);
    expect(stopped.stderr).toMatch(/stopped \(registry-failed\): device registry postgres:\/\/\w+@127\.0\.0\.1:\d+\/lost_\w+: the connection was lost/);
    const record = JSON.parse(stopped.stdout);
    expect(record.counts.uncertain ?? 0).toBe(0); // what was in flight was let finish
    const sentFirst = emulator.stats().accepted.fcm;
    expect(sentFirst).toBeLessThan(users);
    expect(record.counts.accepted).toBe(sentFirst);

    const resumed = await spawnCli(
      args.filter((arg) => arg !== '--rate' && arg !== '400'),
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    const stats = emulator.stats();
    expect(stats.accepted.fcm).toBe(users);
    expect(stats.duplicates).toBe(0);
    expect(new Set(emulator.delivered().map((delivered) => delivered.token)).size).toBe(users);
  });

  it('a capped claim waits for one in flight, then counts it: a user-capped campaign after a device-capped one that holds the same phone', async () => {
    const url = await freshDatabase('cap_wait');
    const registry = await PostgresRegistry.open(postgresTarget(url, {}), { migrate: true });
    const phone = { provider: 'fcm' as const, token: fcmToken('cap-wait-phone'), userId: 'u1' };
    await registry.upsert([phone]);
    const since = new Date(Date.now() - 60_000).toISOString();
    try {
      await asBackend(url, async (other) => {
        // Another process's device-capped claim, in flight: it holds the turn, its claim not yet committed.
        await other.query('BEGIN');
        await other.query(capLockSql, ['pushcast']);
        await other.query(`INSERT INTO pushcast.campaign_claims (campaign, provider, token, shard, user_id, badge_counted) VALUES ('by-device', 'fcm', $1, '1/1', 'u1', false)`, [
          phone.token,
        ]);
        const claiming = registry.claim('by-user', '1/1', [phone], false, { pushes: 1, since, per: 'user' });
        await waitFor(async () => (await other.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rowCount! > 0, 'the second claim to wait for its turn');
        await other.query('COMMIT');
        expect((await claiming).get(deviceKey(phone))).toMatchObject({ granted: false, capped: { campaigns: 1, mine: false } });
      });
    } finally {
      await registry.close();
    }
  });
});
