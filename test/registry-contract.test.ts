// One suite, two backends: every registry operation behaves the same on SQLite and PostgreSQL, and
// SQLite the same through either driver (Node's own node:sqlite, the native better-sqlite3).
// PostgreSQL is a real server (test/helpers/postgres.ts); without one, its part is skipped, and
// says why; so is a driver this Node.js cannot load (node:sqlite before Node 22).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresRegistry, postgresTarget } from '../src/registry/postgres-registry.js';
import { parseDeviceQuery } from '../src/registry/device-query.js';
import { deviceKey, type Device, type DeviceRegistry } from '../src/registry/registry.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { openSqlite, type SqliteDriver } from '../src/registry/sqlite-driver.js';
import { freshDatabase, postgresOrSkip } from './helpers/postgres.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { apnsToken, fcmToken, tempDir } from './helpers/tokens.js';

const postgres = postgresOrSkip();
if (postgres.skip) console.log(`registry contract on PostgreSQL skipped: ${postgres.skip}`);

interface Backend {
  name: string;
  skip?: string;
  /** A new, empty registry, and the --registry value that names it. */
  fresh(): Promise<{ registry: DeviceRegistry; spec: string }>;
  /** The registry a --registry value names, opened again. */
  reopen(spec: string): Promise<DeviceRegistry>;
  /** What the CLI processes a test starts need to use the same backend. */
  env?: NodeJS.ProcessEnv;
}

/** Why `driver` cannot open a database in this Node.js, if it cannot. */
function driverSkip(driver: SqliteDriver): string | undefined {
  try {
    openSqlite(':memory:', driver).close();
    return undefined;
  } catch (error) {
    const why = `${driver} does not load in Node.js ${process.versions.node}: ${(error as Error).message}`;
    console.log(`registry contract on SQLite through ${why}`);
    return why;
  }
}

const sqliteBackends: Backend[] = (['node:sqlite', 'better-sqlite3'] as const).map((driver) => ({
  name: `SQLite (${driver})`,
  skip: driverSkip(driver),
  fresh: async () => {
    const file = join(tempDir(), 'pushcast.db');
    return { registry: SqliteRegistry.open(file, driver), spec: file };
  },
  reopen: async (file) => SqliteRegistry.open(file, driver),
  env: { PUSHCAST_SQLITE_DRIVER: driver },
}));

const backends: Backend[] = [
  ...sqliteBackends,
  {
    name: 'PostgreSQL',
    skip: postgres.skip,
    fresh: async () => {
      const url = await freshDatabase('contract');
      return { registry: await PostgresRegistry.open(postgresTarget(url, {}), { migrate: true }), spec: url };
    },
    reopen: (url) => PostgresRegistry.open(postgresTarget(url, {}), { migrate: false }),
  },
];

const opened: DeviceRegistry[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((registry) => registry.close()));
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** What a device is, without what differs by backend by design (ids, the moment of writing). */
function shape(device: Device) {
  const { id: _id, createdAt: _created, updatedAt: _updated, lastSeen: _seen, invalidAt, unregisteredAt, ...rest } = device;
  return { ...rest, invalidAt: invalidAt !== null, unregisteredAt: unregisteredAt !== null };
}

describe.each(backends)('the registry contract on $name', (backend) => {
  const it_ = backend.skip ? it.skip : it;
  const fresh = async () => {
    const made = await backend.fresh();
    opened.push(made.registry);
    return made;
  };

  it_('resolves many users at once to their devices, with locale, time zone and channels; a token registered by another user moves to them', async () => {
    const { registry } = await fresh();
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('phone'), locale: 'fa', timezone: 'Asia/Tehran', channels: ['news', 'sales'] });
    await registry.register({ userId: 'u1', provider: 'apns', token: apnsToken('tablet'), environment: 'production', app: 'com.example' });
    await registry.register({ userId: 'u2', provider: 'fcm', token: fcmToken('shared') });
    await registry.register({ userId: 'u3', provider: 'fcm', token: fcmToken('shared') }); // the phone changed hands
    const byUser = await registry.devicesOfUsers(['u1', 'u2', 'u3', 'nobody']);
    expect([...byUser.keys()].sort()).toEqual(['u1', 'u3']);
    expect(byUser.get('u1')!.map(shape)).toEqual([
      expect.objectContaining({ provider: 'fcm', token: fcmToken('phone'), locale: 'fa', timezone: 'Asia/Tehran', channels: ['news', 'sales'], valid: true, badge: 0 }),
      expect.objectContaining({ provider: 'apns', token: apnsToken('tablet'), environment: 'production', app: 'com.example', channels: [] }),
    ]);
    expect(byUser.get('u3')!.map((device) => device.token)).toEqual([fcmToken('shared')]);
    expect((await registry.devicesOf('u2')).length).toBe(0);
    const environments = await registry.environmentsOf([
      { provider: 'apns', token: apnsToken('tablet') },
      { provider: 'fcm', token: fcmToken('phone') },
      { provider: 'apns', token: apnsToken('never') },
    ]);
    expect(Object.fromEntries(environments)).toEqual({
      [deviceKey({ provider: 'apns', token: apnsToken('tablet') })]: 'production',
      [deviceKey({ provider: 'fcm', token: fcmToken('phone') })]: null,
    });
  });

  it_("a refreshed token replaces the old one and keeps what the device declared; --single-device drops the user's others", async () => {
    const { registry } = await fresh();
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('old'), locale: 'de', timezone: 'Europe/Berlin', channels: ['news'] });
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('other') });
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('new') }, { replaces: fcmToken('old') });
    expect((await registry.devicesOf('u1')).map(shape)).toEqual([
      expect.objectContaining({ token: fcmToken('other') }),
      expect.objectContaining({ token: fcmToken('new'), locale: 'de', timezone: 'Europe/Berlin', channels: ['news'] }),
    ]);
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('only'), locale: 'en' }, { singleDevice: true });
    expect((await registry.devicesOf('u1')).map((device) => [device.token, device.locale])).toEqual([[fcmToken('only'), 'en']]);
  });

  it_('marks invalid once; an import never revives a device, its own registration does; logout and account deletion leave a dated trace', async () => {
    const { registry } = await fresh();
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('a') });
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('b') });
    await registry.register({ userId: 'u2', provider: 'apns', token: apnsToken('c') });
    const dead = [{ provider: 'fcm' as const, token: fcmToken('a'), reason: 'unregistered' }];
    expect(await registry.markInvalid(dead)).toBe(1);
    expect(await registry.markInvalid(dead)).toBe(0);
    await registry.upsert([{ provider: 'fcm', token: fcmToken('a'), userId: 'u1', locale: 'fr' }]);
    expect((await registry.devicesOf('u1'))[0]).toMatchObject({ valid: false, invalidReason: 'unregistered', locale: 'fr' });
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('a') });
    expect((await registry.devicesOf('u1'))[0]).toMatchObject({ valid: true, invalidReason: null, invalidAt: null });

    expect(await registry.unregister({ provider: 'fcm', token: fcmToken('b') })).toBe(1);
    expect(await registry.unregister({ provider: 'fcm', token: fcmToken('none') })).toBe(0);
    expect(await registry.unregister({ userId: 'u2' })).toBe(1);
    expect(await registry.unregister({ userId: 'u2' })).toBe(0);
    const traces = [...(await registry.devicesOf('u1')), ...(await registry.devicesOf('u2'))].map((device) => [device.unregisteredReason, device.unregisteredAt !== null]);
    expect(traces).toEqual([
      [null, false],
      ['logout', true],
      ['account-deleted', true],
    ]);
    await registry.upsert([{ provider: 'fcm', token: fcmToken('b'), userId: 'u1' }]);
    expect((await registry.devicesOf('u1'))[1].unregisteredReason).toBe('logout'); // an import is no registration
  });

  it_('of two records of one token, the newer wins whatever the order; an older one changes only nothing', async () => {
    const { registry } = await fresh();
    const token = fcmToken('moved');
    await registry.upsert([
      { provider: 'fcm', token, userId: 'newer-user', locale: 'en', channels: ['b'], lastSeen: '2026-06-01T00:00:00.000Z' },
      { provider: 'fcm', token, userId: 'older-user', locale: 'fa', channels: ['a'], lastSeen: '2026-01-01T00:00:00.000Z' },
    ]);
    await registry.upsert([{ provider: 'fcm', token, userId: 'oldest-user', channels: ['z'], lastSeen: '2025-01-01T00:00:00.000Z' }]);
    const [device] = await registry.devicesOf('newer-user');
    expect(device).toMatchObject({ userId: 'newer-user', locale: 'en', channels: ['b'], lastSeen: '2026-06-01T00:00:00.000Z' });
    expect((await registry.devicesOfUsers(['older-user', 'oldest-user'])).size).toBe(0);
  });

  it_('pages through a channel past the page size, valid only unless asked; stats, prune counts and candidates agree', async () => {
    const { registry } = await fresh();
    const old = '2025-01-01T00:00:00.000Z';
    await registry.upsert(
      Array.from({ length: 1205 }, (_, i) => ({
        provider: 'fcm' as const,
        token: fcmToken(`p${i}`),
        userId: `u${i % 400}`,
        channels: i % 3 === 0 ? ['news'] : ['sales'],
        lastSeen: i % 5 === 0 ? old : undefined,
      })),
    );
    await registry.markInvalid([0, 3, 7].map((i) => ({ provider: 'fcm' as const, token: fcmToken(`p${i}`), reason: 'unregistered' })));
    await registry.unregister({ provider: 'fcm', token: fcmToken('p1') });
    expect((await collect(registry.selectDevices({ includeInvalid: true }))).length).toBe(1205);
    expect((await collect(registry.selectDevices({}))).length).toBe(1202);
    const news = await collect(registry.selectDevices({ channel: 'news' }));
    expect(news.length).toBe(402 - 2);
    expect(news.every((device) => device.channels.includes('news') && device.valid)).toBe(true);
    const staleBefore = '2026-01-01T00:00:00.000Z';
    const stats = await registry.stats({ staleBefore });
    expect(stats).toMatchObject({ devices: 1205, users: 400, invalid: 3, unregistered: 1, stale: 241 - 1, valid: 1205 - 3 - 1 - 240 });
    expect(stats.invalidByReason).toEqual({ unregistered: 3 });
    expect(stats.unregisteredByReason).toEqual({ logout: 1 });
    expect(await registry.pruneCounts({ staleBefore })).toEqual({ devices: 1205, invalid: 3, stale: 240 });
    const candidates = await collect(registry.pruneCandidates({ staleBefore }));
    expect(candidates.filter((device) => device.reason === 'invalid').length).toBe(3);
    expect(candidates.length).toBe(243);
    expect(await registry.prune({ staleBefore })).toEqual({ invalid: 3, stale: 240 });
    expect((await registry.stats()).devices).toBe(1205 - 243);
  });

  it_('claims: a device goes to one shard; the same shard is granted again; a new claim counts the badge, a release gives it back', async () => {
    const { registry } = await fresh();
    await registry.register({ userId: 'u1', provider: 'apns', token: apnsToken('b1'), badge: 4 });
    await registry.register({ userId: 'u2', provider: 'apns', token: apnsToken('b2') });
    const devices = [
      { provider: 'apns' as const, token: apnsToken('b1'), userId: 'u1' },
      { provider: 'apns' as const, token: apnsToken('b2'), userId: 'u2' },
    ];
    const first = await registry.claim('spring', '1/2', devices, true);
    expect(first.get(deviceKey(devices[0]))).toEqual({ granted: true, badge: 5 });
    expect(first.get(deviceKey(devices[1]))).toEqual({ granted: true, badge: 1 });
    expect((await registry.claim('spring', '1/2', devices, true)).get(deviceKey(devices[0]))).toEqual({ granted: true, badge: 5 });
    expect((await registry.claim('spring', '2/2', [{ ...devices[0], userId: 'u9' }], true)).get(deviceKey(devices[0]))).toEqual({ granted: false, shard: '1/2', userId: 'u1' });
    expect((await registry.claim('autumn', '2/2', [devices[0]], false)).get(deviceKey(devices[0]))).toEqual({ granted: true });
    await registry.release('spring', '2/2', [devices[1]], true); // not that shard's: nothing changes
    await registry.release('spring', '1/2', [devices[1]], true);
    expect((await registry.devicesOf('u1'))[0].badge).toBe(5);
    expect((await registry.devicesOf('u2'))[0].badge).toBe(0);
    expect((await registry.claim('spring', '2/2', [devices[1]], true)).get(deviceKey(devices[1]))).toEqual({ granted: true, badge: 1 });
  });

  it_('copies a device exactly: validity, traces, badge and dates', async () => {
    const { registry: source } = await fresh();
    await source.register({ userId: 'u1', provider: 'fcm', token: fcmToken('c1'), channels: ['x', 'y'], badge: 7, locale: 'ja' });
    await source.register({ userId: 'u1', provider: 'fcm', token: fcmToken('c2') });
    await source.markInvalid([{ provider: 'fcm', token: fcmToken('c2'), reason: 'bad-token' }]);
    await source.unregister({ provider: 'fcm', token: fcmToken('c1') });
    const devices = await source.devicesOf('u1');
    const { registry: target } = await fresh();
    await target.copyIn(devices);
    const copied = await target.devicesOf('u1');
    const strip = ({ id: _id, ...device }: Device) => device;
    expect(copied.map(strip)).toEqual(devices.map(strip));
  });

  it_('an import that lists one token under two users keeps the record seen last, whatever the order, and lists both lines', async () => {
    const { registry, spec } = await fresh();
    await registry.close();
    opened.pop();
    const dir = tempDir();
    const csv = [
      'provider,token,user_id,last_seen',
      `fcm,${fcmToken('twice')},newer,2026-06-01T00:00:00Z`,
      `fcm,${fcmToken('once')},alone,2026-06-01T00:00:00Z`,
      `fcm,${fcmToken('twice')},older,2026-01-01T00:00:00Z`,
    ];
    writeFileSync(join(dir, 'devices.csv'), `${csv.join('\n')}\n`);
    const { code, stdout } = await spawnCli(['devices', '--registry', spec, 'import', 'devices.csv', '--json'], { cwd: dir, env: backend.env });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).conflicts).toEqual([{ lines: [2, 4], provider: 'fcm', token: fcmToken('twice'), keptLine: 2, keptUser: 'newer' }]);
    const text = await spawnCli(['devices', '--registry', spec, 'import', 'devices.csv'], { cwd: dir, env: backend.env });
    expect(text.stdout).toMatch(/lines 2 and 4 list the same fcm token \S+: kept line 2, seen last \(user newer\)/);
    const reopened = await backend.reopen(spec);
    opened.push(reopened);
    expect((await reopened.devicesOfUsers(['newer', 'older', 'alone'])).get('newer')!.map((device) => device.token)).toEqual([fcmToken('twice')]);
  });

  it_('a --where query selects the same devices on every backend, from a channel-less scan and from users; its values are bound, never SQL', async () => {
    const { registry } = await fresh();
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const devices = {
      d1: { provider: 'fcm', userId: 'u1', platform: 'android', locale: 'fa', channels: ['news'], lastSeen: daysAgo(5), badge: 2 },
      d2: { provider: 'apns', userId: 'u2', platform: 'ios', locale: 'en', channels: ['news', 'sales'], app: 'com.example.app', lastSeen: daysAgo(40) },
      d3: { provider: 'fcm', userId: 'u3', platform: 'android', locale: 'ar', channels: [], lastSeen: daysAgo(1) },
      d4: { provider: 'apns', userId: 'u4', platform: 'ios', locale: 'fa', channels: ['sales'], app: 'com.other', lastSeen: daysAgo(2) },
      d5: { provider: 'fcm', userId: 'u5', platform: 'android', locale: 'fa', channels: ['news'], lastSeen: daysAgo(1) },
    } as const;
    const tokenOf = (name: string, provider: string) => (provider === 'apns' ? apnsToken(name) : fcmToken(name));
    await registry.upsert(Object.entries(devices).map(([name, device]) => ({ ...device, channels: [...device.channels], token: tokenOf(name, device.provider) })));
    await registry.markInvalid([{ provider: 'fcm', token: fcmToken('d5'), reason: 'unregistered' }]); // never chosen: not valid
    expect(await registry.setAttributes({ userId: 'u1' }, { plan: 'pro', country: 'IR', app_version: '3.2' })).toBe(1);
    await registry.setAttributes({ provider: 'apns', token: apnsToken('d2') }, { plan: 'free', app_version: '10', country: 'DE' });
    await registry.setAttributes({ userId: 'u2' }, { country: null }); // removed
    await registry.setAttributes({ userId: 'u4' }, { plan: 'pro', app_version: '1.2.3' });
    expect(await registry.attributeNames()).toEqual(['app_version', 'country', 'plan']);
    const attributes = await registry.attributeNames();
    const chosen = async (where: unknown) => {
      const query = parseDeviceQuery(JSON.stringify(where), { attributes });
      const names = (await collect(registry.selectDevices({ where: query }))).map((device) => Object.keys(devices).find((name) => tokenOf(name, device.provider) === device.token));
      return names.sort();
    };
    const golden: Array<[unknown, string[]]> = [
      [{ channels: 'news' }, ['d1', 'd2']],
      [{ locale: { $in: ['fa', 'en'] } }, ['d1', 'd2', 'd4']],
      [{ platform: 'ios', lastSeen: { $gt: '30d' } }, ['d4']],
      [{ lastSeen: { $lt: '30d' } }, ['d2']],
      [{ $or: [{ plan: 'pro' }, { channels: { $all: ['news', 'sales'] } }] }, ['d1', 'd2', 'd4']],
      [{ plan: { $ne: 'pro' } }, ['d2', 'd3']], // as in Parse, a device without the field is "not pro"
      [{ plan: { $exists: false } }, ['d3']],
      [{ channels: { $exists: false } }, ['d3']],
      [{ channels: { $nin: ['news'] } }, ['d3', 'd4']],
      [{ app_version: { $gte: 3 } }, ['d1', 'd2']], // "1.2.3" is not a number
      [{ app_version: { $lt: 5 } }, ['d1']],
      [{ app_version: 10 }, ['d2']], // attributes are text: a number in the query is its text
      [{ app_version: { $in: [10, '3.2'] } }, ['d1', 'd2']],
      [{ app_version: { $nin: [10] }, plan: { $exists: true } }, ['d1', 'd4']],
      [{ 'attributes.country': 'IR', $and: [{ badge: { $gt: 1 } }] }, ['d1']],
      [{ deviceType: 'ios', appIdentifier: 'com.example.app' }, ['d2']], // Parse's own names
      [{ userId: { $in: [] } }, []],
      [{ channels: { $all: [] } }, []], // as in Parse: all of nothing is nothing
      [{ lastSeen: { $nin: ['1d', '2999-01-01'] } }, ['d1', 'd2', 'd3', 'd4']], // each a time
      [{ createdAt: { $lt: { __type: 'Date', iso: '2999-01-01T00:00:00Z' } } }, ['d1', 'd2', 'd3', 'd4']],
      [{ locale: "fa' OR '1'='1" }, []],
      [{ plan: { $in: ['pro"); DROP TABLE devices; --', "x' OR 1=1 --"] } }, []],
    ];
    for (const [where, expected] of golden) expect({ where, chosen: await chosen(where) }).toEqual({ where, chosen: expected });
    // With a channel too (on PostgreSQL its parameter comes before the query's), both must hold.
    const inNews = await collect(registry.selectDevices({ channel: 'news', where: parseDeviceQuery('{"locale":{"$in":["fa","ar"]}}', { attributes }) }));
    expect(inNews.map((device) => device.token)).toEqual([fcmToken('d1')]);
    expect((await registry.stats()).devices).toBe(5); // the injection attempts dropped nothing
    // From users, every device is read and says whether it matches: the user is told apart from one the query left out.
    const byUser = await registry.devicesOfUsers(['u1', 'u2', 'u3'], parseDeviceQuery('{"plan":"pro"}', { attributes }));
    expect(['u1', 'u2', 'u3'].map((user) => byUser.get(user)!.map((device) => device.matchesQuery))).toEqual([[true], [false], [false]]);
    expect(byUser.get('u1')![0].attributes).toEqual({ plan: 'pro', country: 'IR', app_version: '3.2' });
  });

  it_('counts the other campaigns that kept a claim on a user or a device since a moment, and says whether the asking one holds one (the frequency cap)', async () => {
    const { registry } = await fresh();
    const phone = { provider: 'fcm' as const, token: fcmToken('cap-phone'), userId: 'u1' };
    const tablet = { provider: 'fcm' as const, token: fcmToken('cap-tablet'), userId: 'u1' };
    const other = { provider: 'fcm' as const, token: fcmToken('cap-other'), userId: 'u2' };
    await registry.upsert([phone, tablet, other]);
    const before = new Date(Date.now() - 60_000).toISOString();
    await registry.claim('campaign-a', '1/1', [phone], false);
    await registry.claim('campaign-b', '1/1', [tablet, other], false);
    await registry.claim('campaign-c', '1/1', [phone], false);
    await registry.release('campaign-c', '1/1', [phone], false); // not delivered: no push to count
    const byUser = await registry.campaignsReaching({ userIds: ['u1', 'u2', 'u3'] }, before, 'campaign-b');
    expect([...byUser.keys()].sort()).toEqual(['u1', 'u2']);
    expect(byUser.get('u1')).toMatchObject({ campaigns: 1, mine: true });
    expect(byUser.get('u2')).toEqual({ campaigns: 0, lastAt: null, mine: true });
    const byDevice = await registry.campaignsReaching({ devices: [phone, tablet] }, before, 'campaign-z');
    expect(byDevice.get(deviceKey(phone))).toMatchObject({ campaigns: 1, mine: false });
    expect(byDevice.get(deviceKey(tablet))).toMatchObject({ campaigns: 1, mine: false });
    expect(Date.parse(byDevice.get(deviceKey(phone))!.lastAt!)).toBeGreaterThanOrEqual(Date.parse(before));
    const later = new Date(Date.now() + 60_000).toISOString();
    expect((await registry.campaignsReaching({ userIds: ['u1'] }, later, 'campaign-z')).size).toBe(0);
    // Where a campaign's cap window ends: its first claim, whichever shard made it.
    const first = await registry.firstClaimOf('campaign-b');
    expect(Date.parse(first!)).toBeGreaterThanOrEqual(Date.parse(before));
    await registry.claim('campaign-b', '2/2', [phone], false); // another shard, later
    expect(await registry.firstClaimOf('campaign-b')).toBe(first);
    expect(await registry.firstClaimOf('campaign-none')).toBeUndefined();
  });

  it_('a claim under a cap counts the cap as it claims: of two capped campaigns that both counted a user free, the second claim is refused', async () => {
    const { registry } = await fresh();
    const phone = { provider: 'fcm' as const, token: fcmToken('race-phone'), userId: 'u1' };
    const tablet = { provider: 'fcm' as const, token: fcmToken('race-tablet'), userId: 'u1' };
    const loner = { provider: 'fcm' as const, token: fcmToken('race-loner'), userId: null };
    await registry.upsert([phone, tablet, { ...loner, userId: undefined }]);
    const since = new Date(Date.now() - 60_000).toISOString();
    const cap = { pushes: 1, since, per: 'user' as const };
    // Both campaigns counted before either claimed: nobody over the cap.
    expect((await registry.campaignsReaching({ userIds: ['u1'] }, since, 'a')).size).toBe(0);
    expect((await registry.campaignsReaching({ userIds: ['u1'] }, since, 'b')).size).toBe(0);
    const first = await registry.claim('a', '1/1', [phone, loner], false, cap);
    expect([...first.values()].every((claim) => claim.granted)).toBe(true);
    const second = await registry.claim('b', '1/1', [tablet, loner], false, cap);
    expect(second.get(deviceKey(tablet))).toMatchObject({ granted: false, capped: { campaigns: 1, mine: false } });
    expect(second.get(deviceKey(loner))).toMatchObject({ granted: false, capped: { campaigns: 1 } }); // a device without a user is counted by itself
    // Campaign a's own claims never cap it (a resumed run), nor does a device its journal settled.
    expect((await registry.claim('a', '1/1', [tablet], false, cap)).get(deviceKey(tablet))).toEqual({ granted: true });
    expect((await registry.claim('c', '1/1', [{ ...phone, uncapped: true }], false, cap)).get(deviceKey(phone))).toEqual({ granted: true });
    // Per device, the tablet (claimed by a only now) is over; a device no campaign claimed is not.
    const fresh2 = { provider: 'fcm' as const, token: fcmToken('race-new'), userId: 'u1' };
    const perDevice = await registry.claim('d', '1/1', [tablet, fresh2], false, { ...cap, per: 'device' });
    expect([perDevice.get(deviceKey(tablet))?.granted, perDevice.get(deviceKey(fresh2))?.granted]).toEqual([false, true]);
  });

  it_('attributes merge on import, survive a token refresh (onto a token registered already too), and are copied by a migration', async () => {
    const { registry } = await fresh();
    await registry.upsert([{ provider: 'fcm', token: fcmToken('a1'), userId: 'u1', attributes: { plan: 'free', country: 'IR' } }]);
    await registry.upsert([{ provider: 'fcm', token: fcmToken('a1'), userId: 'u1', attributes: { plan: 'pro' } }]);
    expect((await registry.devicesOf('u1'))[0].attributes).toEqual({ plan: 'pro', country: 'IR' });
    await registry.register({ userId: 'u1', provider: 'fcm', token: fcmToken('a2') }, { replaces: fcmToken('a1') });
    const [refreshed] = await registry.devicesOf('u1');
    expect(refreshed).toMatchObject({ token: fcmToken('a2'), attributes: { plan: 'pro', country: 'IR' } });
    // The new token registered already (the app told the backend before its refresh): it takes the old one's attributes and what it declared, and keeps its own.
    await registry.upsert([{ provider: 'fcm', token: fcmToken('b1'), userId: 'u2', locale: 'fa', channels: ['news'], attributes: { plan: 'pro', country: 'IR' } }]);
    await registry.upsert([{ provider: 'fcm', token: fcmToken('b2'), userId: 'u2', attributes: { beta: 'yes', country: 'DE' } }]);
    await registry.register({ userId: 'u2', provider: 'fcm', token: fcmToken('b2') }, { replaces: fcmToken('b1') });
    expect(await registry.devicesOf('u2')).toEqual([
      expect.objectContaining({ token: fcmToken('b2'), locale: 'fa', channels: ['news'], attributes: { plan: 'pro', country: 'IR', beta: 'yes' } }),
    ]);
    // A registration that replaces nothing keeps the device's channels and attributes.
    await registry.register({ userId: 'u2', provider: 'fcm', token: fcmToken('b2') });
    expect(await registry.devicesOf('u2')).toEqual([expect.objectContaining({ locale: 'fa', channels: ['news'], attributes: { plan: 'pro', country: 'IR', beta: 'yes' } })]);
    const { registry: copy } = await fresh();
    await copy.copyIn([refreshed]);
    expect((await copy.devicesOf('u1'))[0].attributes).toEqual({ plan: 'pro', country: 'IR' });
    await expect(registry.setAttributes({ userId: 'u1' }, { locale: 'x' })).rejects.toThrow(/own field/);
    await expect(registry.setAttributes({ userId: 'u1' }, { 'a b': 'x' })).rejects.toThrow(/letters, digits and _/);
  });

  it_('eight writers at once (devices register --replaces, each its own process) lose nothing, and none fails', async () => {
    const { registry, spec } = await fresh();
    await registry.close();
    opened.pop();
    const writers = Array.from({ length: 8 }, (_, writer) => async () => {
      const results = [];
      for (let round = 0; round < 5; round++) {
        const token = fcmToken(`w${writer}-${round}`);
        const args = ['devices', '--registry', spec, 'register', '--user', `writer${writer}`, '--provider', 'fcm', '--token', token];
        results.push(await spawnCli(round === 0 ? args : [...args, '--replaces', fcmToken(`w${writer}-${round - 1}`)], { cwd: tempDir(), env: backend.env }));
      }
      return results;
    });
    const results = (await Promise.all(writers.map((write) => write()))).flat();
    expect(results.filter((result) => result.code !== 0).map((result) => result.stderr)).toEqual([]);
    const reopened = await backend.reopen(spec);
    opened.push(reopened);
    const byUser = await reopened.devicesOfUsers(Array.from({ length: 8 }, (_, writer) => `writer${writer}`));
    expect(Array.from({ length: 8 }, (_, writer) => byUser.get(`writer${writer}`)?.map((device) => device.token))).toEqual(
      Array.from({ length: 8 }, (_, writer) => [fcmToken(`w${writer}-4`)]),
    );
  });
});
