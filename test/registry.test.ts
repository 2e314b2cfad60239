import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { readCsvWithPython } from './helpers/read-csv-python.js';
import { apnsToken, emulatorSubscription, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News', locales: { fa: { title: 'سلام {{name}}' } } }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    forced: {
      [fcmToken('dead')]: { status: 404, reason: 'UNREGISTERED' },
      [apnsToken('bad-env')]: { status: 400, reason: 'BadDeviceToken' },
      [apnsToken('bad-declared')]: { status: 400, reason: 'BadDeviceToken' },
    },
  });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

function freshRegistry(dir: string): SqliteRegistry {
  return SqliteRegistry.open(join(dir, 'pushcast.db'));
}

describe('the device registry', () => {
  it("fans a user out to every valid device, with the device's locale, and reports users it cannot reach", async () => {
    const dir = tempDir();
    const registry = freshRegistry(dir);
    const subscription = emulatorSubscription('reg-web');
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('u1-phone'), locale: 'fa' });
    await registry.register({ userId: 'u1', provider: 'apns', token: apnsToken('u1-tablet'), environment: 'production' });
    await registry.register({ userId: 'u1', provider: 'webpush', token: subscription.endpoint, subscription: JSON.stringify(subscription) });
    await registry.register({ userId: 'u3', provider: 'fcm', token: fcmToken('u3-old') });
    await registry.markInvalid([{ provider: 'fcm', token: fcmToken('u3-old'), reason: 'unregistered' }]);
    await registry.close();

    const audience = tempFile('users.csv', 'user_id,locale,name\nu1,en,Sara\nu2,en,Nobody\nu3,en,Gone\n');
    const { code, stdout } = await runCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audience, '-m', message, '--json'], { cwd: dir });
    expect(code, stdout).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.counts).toMatchObject({ targeted: 3, accepted: 3 });
    expect(report.skippedByReason).toEqual({ 'unknown-user': 1, 'no-device': 1 });
    const delivered = emulator.delivered();
    expect(delivered.map((item) => item.provider).sort()).toEqual(['apns', 'fcm', 'webpush']);
    expect(delivered.find((item) => item.provider === 'fcm')!.message).toMatchObject({ notification: { title: 'سلام Sara' } }); // the device's locale
    expect(delivered.find((item) => item.provider === 'apns')!.message).toMatchObject({ aps: { alert: { title: 'Hi Sara' } } });
  });

  it("a refreshed token replaces the old one, and --single-device drops the user's others", async () => {
    const dir = tempDir();
    const register = (...args: string[]) => runCli(['devices', 'register', '--user', 'u1', '--provider', 'fcm', ...args], { cwd: dir });
    expect((await register('--token', fcmToken('a'))).code).toBe(0);
    expect((await register('--token', fcmToken('b'))).code).toBe(0);
    expect((await register('--token', fcmToken('c'), '--replaces', fcmToken('a'))).code).toBe(0);
    let registry = freshRegistry(dir);
    expect((await registry.devicesOf('u1')).map((device) => device.token)).toEqual([fcmToken('b'), fcmToken('c')]);
    await registry.close();
    expect((await register('--token', fcmToken('d'), '--single-device')).stdout).toContain('1 valid device');
    registry = freshRegistry(dir);
    expect((await registry.devicesOf('u1')).map((device) => device.token)).toEqual([fcmToken('d')]);
    await registry.close();
    expect((await register('--token', 'not a token')).code).toBe(1);
  });

  it('a refreshed token keeps what the device declared (locale, time zone, channels, environment, app) unless it says otherwise', async () => {
    const dir = tempDir();
    const register = (...args: string[]) => runCli(['devices', 'register', '--user', 'u1', '--provider', 'apns', ...args], { cwd: dir });
    const declared = ['--locale', 'fa', '--timezone', 'Asia/Tehran', '--channels', 'news,offers', '--environment', 'sandbox', '--app', 'com.example.app'];
    expect((await register('--token', apnsToken('old'), ...declared)).code).toBe(0);
    expect((await register('--token', apnsToken('new'), '--replaces', apnsToken('old'))).code).toBe(0);
    let registry = freshRegistry(dir);
    expect(await registry.devicesOf('u1')).toEqual([
      expect.objectContaining({ token: apnsToken('new'), locale: 'fa', timezone: 'Asia/Tehran', channels: ['news', 'offers'], environment: 'sandbox', app: 'com.example.app' }),
    ]);
    await registry.close();
    // New values win; the rest is kept.
    expect((await register('--token', apnsToken('newer'), '--replaces', apnsToken('new'), '--locale', 'de', '--channels', 'news')).code).toBe(0);
    registry = freshRegistry(dir);
    expect(await registry.devicesOf('u1')).toEqual([
      expect.objectContaining({ token: apnsToken('newer'), locale: 'de', timezone: 'Asia/Tehran', channels: ['news'], environment: 'sandbox', app: 'com.example.app' }),
    ]);
    await registry.close();
  });

  it('marks tokens invalid after a campaign, and the next campaign skips them; BadDeviceToken counts only where the environment was known', async () => {
    const dir = tempDir();
    const registry = freshRegistry(dir);
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('dead') });
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('alive') });
    await registry.register({ userId: 'u2', provider: 'apns', token: apnsToken('bad-env') }); // environment never declared
    await registry.register({ userId: 'u3', provider: 'apns', token: apnsToken('bad-declared'), environment: 'production' });
    await registry.close();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = tempFile('users.csv', 'user_id,name\nu1,A\nu2,B\nu3,C\n');
    const first = JSON.parse((await runCli(['send', '--config', config, '-a', audience, '-m', message, '--json', '--no-journal'], { cwd: dir })).stdout);
    expect(first.counts).toMatchObject({ targeted: 4, accepted: 1, invalid: 3 });
    expect(first.registry).toEqual({ file: join(dir, 'pushcast.db'), marked: 2, heldBack: 1 });
    const after = freshRegistry(dir);
    expect((await after.devicesOf('u1')).find((device) => device.token === fcmToken('dead'))).toMatchObject({ valid: false, invalidReason: 'unregistered' });
    expect((await after.devicesOf('u2'))[0].valid).toBe(true); // maybe a sandbox token: not pruned on a guess
    expect((await after.devicesOf('u3'))[0]).toMatchObject({ valid: false, invalidReason: 'bad-token' });
    await after.close();

    emulator.reset();
    const second = JSON.parse((await runCli(['send', '--config', config, '-a', audience, '-m', message, '--json', '--no-journal'], { cwd: dir })).stdout);
    expect(second.counts).toMatchObject({ targeted: 2 });
    expect(second.skippedByReason).toEqual({ 'no-device': 1 });
    expect(emulator.attemptLog().map((attempt) => attempt.token)).not.toContain(fcmToken('dead'));
  });

  it('targets a channel ("*": everyone), and refuses a channel name with "/"', async () => {
    const dir = tempDir();
    const csv = [
      'provider,token,user_id,channels',
      `fcm,${fcmToken('n1')},u1,news;sales`,
      `fcm,${fcmToken('n2')},u2,news`,
      `apns,${apnsToken('s1')},u3,sales`,
      `fcm,${fcmToken('none')},u4,`,
    ].join('\n');
    expect((await runCli(['devices', 'import', tempFile('devices.csv', csv)], { cwd: dir })).code).toBe(0);
    const config = writeEmulatorConfig(emulator, {}, dir);
    // A channel send has no audience columns: the message must not need one.
    const broadcast = tempFile('b.json', JSON.stringify({ title: 'Hi {{default name "there"}}', body: 'News' }));
    const news = await runCli(['send', '--config', config, '--channel', 'news', '-m', broadcast, '--json', '--no-journal'], { cwd: dir });
    expect(JSON.parse(news.stdout).counts.targeted).toBe(2);
    expect(
      emulator
        .delivered()
        .map((item) => item.token)
        .sort(),
    ).toEqual([fcmToken('n1'), fcmToken('n2')].sort());
    const everyone = await runCli(['send', '--config', config, '--channel', '*', '-m', broadcast, '--json', '--no-journal'], { cwd: dir });
    expect(JSON.parse(everyone.stdout).counts.targeted).toBe(4);
    // Its rows are registry devices, not lines of a file: say so, in the record, the report and the plan.
    const fcmOnly = writeEmulatorConfig(emulator, { apns: { key: undefined, keyId: undefined, teamId: undefined } }, dir);
    const sales = await runCli(['send', '--config', fcmOnly, '--channel', 'sales', '-m', broadcast, '--no-journal'], { cwd: dir });
    expect(sales.stderr).toBe('');
    expect(sales.stdout).toMatch(/registry device \d+ \(apns\): skipped provider-not-configured/);
    expect(sales.stdout).not.toMatch(/\bline \d+/);
    const plan = await runCli(['send', '--config', fcmOnly, '--channel', 'sales', '-m', broadcast, '--dry-run'], { cwd: dir });
    expect(plan.stdout).toMatch(/ {2}device {2}reason/);
    const bad = await runCli(['send', '--config', config, '--channel', 'a/b', '-m', broadcast], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('may not be empty or contain "/"');
  });

  it('prunes invalid devices, and with --stale those not seen for that long', async () => {
    const dir = tempDir();
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const csv = [
      'provider,token,user_id,last_seen',
      `fcm,${fcmToken('old')},u1,${old}`,
      `fcm,${fcmToken('new')},u2,${new Date().toISOString()}`,
      `fcm,${fcmToken('dead2')},u3,`,
    ].join('\n');
    await runCli(['devices', 'import', tempFile('d.csv', csv)], { cwd: dir });
    const registry = freshRegistry(dir);
    await registry.markInvalid([{ provider: 'fcm', token: fcmToken('dead2'), reason: 'unregistered' }]);
    await registry.close();
    const pruned = await runCli(['devices', 'prune', '--stale', '90d', '--yes'], { cwd: dir }); // 2 of 3: more than a tenth
    expect(pruned.stdout).toMatch(/pruned 1 invalid device and 1 not seen since/);
    const stats = JSON.parse((await runCli(['devices', 'stats', '--json'], { cwd: dir })).stdout);
    expect(stats).toMatchObject({ devices: 1, valid: 1 });
    const exported = await runCli(['devices', 'export'], { cwd: dir });
    expect(exported.stdout.trim().split('\n')).toHaveLength(2);
    expect(exported.stdout).toContain(fcmToken('new'));
  });

  it('exports channel names a spreadsheet would run guarded, and imports them back as they were', async () => {
    const dir = tempDir();
    const registry = freshRegistry(dir);
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('formula'), channels: ['=promo'] });
    await registry.register({ userId: 'u2', provider: 'fcm', token: fcmToken('marked'), channels: ["'=vip"] });
    await registry.close();
    expect((await runCli(['devices', 'export', '--out', 'devices.csv'], { cwd: dir })).code).toBe(0);
    const exported = readCsvWithPython(join(dir, 'devices.csv'));
    expect(exported.slice(1).map((row) => row[exported[0].indexOf('channels')])).toEqual(["'=promo", "''=vip"]);

    const again = tempDir();
    expect((await runCli(['devices', 'import', join(dir, 'devices.csv')], { cwd: again })).code).toBe(0);
    const imported = freshRegistry(again);
    expect([(await imported.devicesOf('u1'))[0].channels, (await imported.devicesOf('u2'))[0].channels]).toEqual([['=promo'], ["'=vip"]]);
    await imported.close();
  });

  it('list, stats, export and prune refuse a registry that does not exist, and create none', async () => {
    const dir = tempDir();
    for (const command of [['list'], ['stats'], ['export'], ['prune']]) {
      const { code, stderr } = await runCli(['devices', '--registry', 'elsewhere.db', ...command], { cwd: dir });
      expect(code, command.join(' ')).toBe(1);
      expect(stderr).toBe(`pushcast: no device registry at ${join(dir, 'elsewhere.db')}: import devices first (pushcast devices import FILE.csv)\n`);
    }
    expect(existsSync(join(dir, 'elsewhere.db'))).toBe(false);
    const { stderr } = await runCli(['devices', 'stats'], { cwd: dir });
    expect(stderr).toContain('or name the registry with --registry FILE');
  });

  it('an import and a send in two processes at once neither corrupt nor lose rows', async () => {
    const dir = tempDir();
    const rows = ['provider,token,user_id,channels'];
    for (let i = 0; i < 20_000; i++) rows.push(`fcm,${fcmToken(`bulk${i}`)},u${i},all`);
    const big = join(dir, 'big.csv');
    writeFileSync(big, rows.join('\n'));
    await runCli(['devices', 'import', tempFile('seed.csv', `provider,token,user_id,channels\nfcm,${fcmToken('seed')},seed,all\n`)], { cwd: dir });
    const config = writeEmulatorConfig(emulator, {}, dir);
    const bin = join(root, 'bin/pushcast.js');
    const run = (args: string[]) => new Promise<number | null>((resolve) => spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: 'ignore' }).on('exit', resolve));
    const broadcast = tempFile('b.json', JSON.stringify({ title: 'Hi {{default name "there"}}' }));
    const [imported, sent] = await Promise.all([
      run(['devices', 'import', big]),
      run(['send', '--config', config, '--channel', 'all', '-m', broadcast, '--quiet', '--no-journal']),
    ]);
    expect(imported).toBe(0);
    expect(sent).toBe(0);
    const registry = freshRegistry(dir);
    expect(registry.db.pragma('integrity_check')).toBe('ok');
    expect((await registry.stats()).devices).toBe(20_001);
    await registry.close();
    expect(emulator.stats().duplicates).toBe(0);
  });
});
