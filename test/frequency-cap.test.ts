// `send --cap`: recipients from the registry who already got that many pushes from other campaigns
// within the window are skipped as `capped`, through the CLI against the emulator, over several
// campaigns, a re-run, shards, and the config's default.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { runCli } from './helpers/run-cli.js';
import { freshDatabase, postgresOrSkip } from './helpers/postgres.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { fcmToken, tempDir, tempFile } from './helpers/tokens.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** Users u1 to u4, one FCM device each, and u1 a second one in channel "x"; the emulator config. */
async function registry(): Promise<{ dir: string; config: string; send: (...args: string[]) => Promise<{ code: number; record: CampaignRecord; stderr: string }> }> {
  const dir = tempDir();
  const csv = ['provider,token,user_id,channels', ...[1, 2, 3, 4].map((n) => `fcm,${fcmToken(`cap-u${n}`)},u${n},news`), `fcm,${fcmToken('cap-u1-tablet')},u1,x`].join('\n');
  expect((await runCli(['devices', 'import', tempFile('devices.csv', csv)], { cwd: dir })).code).toBe(0);
  const config = writeEmulatorConfig(emulator, {}, dir);
  const send = async (...args: string[]) => {
    const result = await runCli(['send', '--config', config, '--json', ...args], { cwd: dir });
    return { code: result.code, record: (result.stdout ? JSON.parse(result.stdout) : {}) as CampaignRecord, stderr: result.stderr };
  };
  return { dir, config, send };
}

const message = (name: string) => tempFile(`${name}.json`, JSON.stringify({ title: name, body: 'News' }));
const users = (name: string, ...ids: string[]) => tempFile(`${name}.csv`, ['user_id', ...ids].join('\n'));
const delivered = () =>
  emulator
    .delivered()
    .map((item) => item.token)
    .sort();

describe('send --cap', () => {
  it('over two campaigns skips exactly the users the first reached, counts them, and a re-run after a third campaign agrees', async () => {
    const { send } = await registry();
    const first = await send('-a', users('first', 'u1', 'u2'), '-m', message('first'));
    expect(first.record.counts).toMatchObject({ accepted: 3 }); // u1 has two devices
    emulator.reset();

    const second = await send('-a', users('all', 'u1', 'u2', 'u3', 'u4'), '-m', message('second'), '--cap', '1/24h');
    expect(second.code, second.stderr).toBe(0);
    expect(delivered()).toEqual([fcmToken('cap-u3'), fcmToken('cap-u4')].sort());
    expect(second.record.skippedByReason).toEqual({ capped: 2 });
    expect(second.record.cap).toMatchObject({ rule: '1/24h', per: 'user' });
    expect(second.record.errors.map((error) => error.detail)).toEqual([
      expect.stringMatching(/^user u1 got 1 push from other campaigns since .*\(--cap 1\/24h\)$/),
      expect.stringMatching(/^user u2 got 1 push from other campaigns since /),
    ]);

    // A third campaign reaches u3; the second, run again, still caps u1 and u2 and keeps u3 as sent by it.
    await send('-a', users('third', 'u3'), '-m', message('third'), '--no-cap');
    emulator.reset();
    const again = await send('-a', users('all', 'u1', 'u2', 'u3', 'u4'), '-m', message('second'), '--cap', '1/24h');
    expect(again.record.campaign).toBe(second.record.campaign);
    expect(delivered()).toEqual([]);
    expect(again.record.counts).toMatchObject({ accepted: 2, skipped: 2 });
    expect(again.record.skippedByReason).toEqual({ capped: 2 });
  });

  it('shards of a capped campaign cap the same users as one process; per device, only the devices that were reached are capped', async () => {
    const { send } = await registry();
    await send('--channel', 'x', '-m', message('tablet')); // u1's tablet only
    emulator.reset();
    const audience = users('all', 'u1', 'u2', 'u3', 'u4');
    const shards = [
      await send('-a', audience, '-m', message('sharded'), '--cap', '1/7d', '--shard', '1/2'),
      await send('-a', audience, '-m', message('sharded'), '--cap', '1/7d', '--shard', '2/2'),
    ];
    expect(shards.map((shard) => shard.code)).toEqual([0, 0]);
    expect(shards.reduce((sum, shard) => sum + (shard.record.skippedByReason.capped ?? 0), 0)).toBe(1);
    expect(delivered()).toEqual([fcmToken('cap-u2'), fcmToken('cap-u3'), fcmToken('cap-u4')].sort());

    emulator.reset();
    const perDevice = await send('-a', audience, '-m', message('per-device'), '--cap', '1/7d', '--cap-per-device');
    // Per device, u1's phone, which no campaign reached, is not capped by its tablet; the others are, one by one.
    expect(delivered()).toEqual([fcmToken('cap-u1')]);
    expect(perDevice.record.skippedByReason).toEqual({ capped: 4 });
    expect(perDevice.record.errors[0].detail).toMatch(/^this device got 1 push from other campaigns/);
  });

  it("the config's cap applies to a channel send, and --no-cap lifts it for a transactional message", async () => {
    const { dir, config, send } = await registry();
    await send('-a', users('first', 'u2'), '-m', message('first'));
    const capped = join(dir, 'capped.json');
    writeFileSync(capped, JSON.stringify({ ...JSON.parse((await import('node:fs')).readFileSync(config, 'utf8')), cap: '1/1d' }));
    emulator.reset();
    const news = await runCli(['send', '--config', capped, '--channel', 'news', '-m', message('news'), '--json'], { cwd: dir });
    expect(news.code, news.stderr).toBe(0);
    expect(JSON.parse(news.stdout).skippedByReason).toEqual({ capped: 1 });
    expect(delivered()).toEqual([fcmToken('cap-u1'), fcmToken('cap-u3'), fcmToken('cap-u4')].sort());
    emulator.reset();
    const transactional = await runCli(['send', '--config', capped, '--channel', 'news', '-m', message('receipt'), '--no-cap', '--json'], { cwd: dir });
    expect(JSON.parse(transactional.stdout).skippedByReason).toEqual({});
    expect(delivered()).toHaveLength(4);
  });

  it('refuses a cap without its unit, too long a window, and a cap on a list of tokens, before anything is sent', async () => {
    const { send } = await registry();
    const unitless = await send('-a', users('u', 'u1'), '-m', message('m'), '--cap', '2/24');
    expect(unitless.code).toBe(1);
    expect(unitless.stderr).toContain("a cap is PUSHES/WINDOW with the window's unit, such as 2/24h");
    expect((await send('-a', users('u', 'u1'), '-m', message('m'), '--cap', '1/100d')).stderr).toContain('at most 90 days');
    const tokens = tempFile('tokens.csv', `provider,token\nfcm,${fcmToken('cap-u1')}\n`);
    const listed = await send('-a', tokens, '-m', message('m'), '--cap', '1/24h');
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain('--cap counts the pushes the device registry knows of');
    expect(emulator.attemptLog()).toEqual([]);
  });

  // End to end, two processes at once: each claims its 400 users in one batch, and whether the two
  // claims overlap depends on how the processes start. The wait itself is proven without chance in
  // test/registry-postgres.test.ts and the registry contract.
  const race = async (postgresUrl?: string) => {
    const dir = tempDir();
    const registryFlags = postgresUrl ? ['--registry', postgresUrl] : [];
    const count = 400;
    const ids = Array.from({ length: count }, (_, n) => `r${n}`);
    const csv = ['provider,token,user_id', ...ids.map((id) => `fcm,${fcmToken(`race-${id}`)},${id}`)].join('\n');
    const imported = await spawnCli(['devices', ...registryFlags, 'import', tempFile('race-devices.csv', csv)], { cwd: dir });
    expect(imported.code, imported.stderr).toBe(0);
    const config = writeEmulatorConfig(emulator, {}, dir);
    writeFileSync(join(dir, 'users.csv'), ['user_id', ...ids].join('\n'));
    const send = (name: string) => spawnCli(['send', '--config', config, ...registryFlags, '-a', 'users.csv', '-m', message(name), '--cap', '1/24h', '--json'], { cwd: dir });
    const runs = await Promise.all([send('race-a'), send('race-b')]);
    for (const run of runs) expect([0, 3], run.stderr).toContain(run.code);
    const records = runs.map((run) => JSON.parse(run.stdout) as CampaignRecord);
    const tokens = delivered();
    expect(tokens.length - new Set(tokens).size).toBe(0); // nobody twice
    expect(tokens).toHaveLength(count);
    expect(records.reduce((sum, record) => sum + record.counts.accepted, 0)).toBe(count);
    expect(records.reduce((sum, record) => sum + (record.skippedByReason.capped ?? 0), 0)).toBe(count);
  };
  it('two capped campaigns started at once, each its own process, reach each user once between them (SQLite)', () => race());
  const postgres = postgresOrSkip();
  it.skipIf(postgres.skip)('two capped campaigns started at once, each its own process, reach each user once between them (PostgreSQL)', async () =>
    race(await freshDatabase('cap_race')),
  );
});
