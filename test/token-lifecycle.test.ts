import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { apnsToken, fcmToken, tempDir, tempFile } from './helpers/tokens.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * The token lifecycle as the seeds describe it, through the built CLI against the emulator: logout and
 * account deletion, a token moving to another user, stale devices, APNs environments and apps in
 * the record, badges counted up, and installations brought over from Parse and LeanCloud. The
 * truth is what the emulator received.
 */
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{user_id}}', body: 'Lifecycle' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'lifecycle' });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** A folder with a config for the emulator; its registry is ./pushcast.db. */
function world(): { dir: string; config: string; cli: (...args: string[]) => ReturnType<typeof spawnCli> } {
  const dir = tempDir();
  const config = writeEmulatorConfig(emulator, {}, dir);
  return { dir, config, cli: (...args) => spawnCli(args, { cwd: dir }) };
}
const users = (...ids: string[]) => tempFile('users.csv', `user_id\n${ids.join('\n')}\n`);
const sendTo = (cli: ReturnType<typeof world>['cli'], config: string, audience: string, ...extra: string[]) =>
  cli('send', '--config', config, '-a', audience, '-m', message, '--no-journal', '--json', ...extra);
const deliveredTokens = () =>
  emulator
    .delivered()
    .map((item) => item.token)
    .sort();

describe('logout and account deletion', () => {
  it('a logged-out device gets nothing; a deleted account none of its devices; each is reported as unregistered, not invalid', async () => {
    const { config, cli } = world();
    for (const [user, provider, token] of [
      ['u1', 'fcm', fcmToken('u1-phone')],
      ['u1', 'apns', apnsToken('u1-tablet')],
      ['u2', 'fcm', fcmToken('u2-phone')],
      ['u2', 'apns', apnsToken('u2-tablet')],
    ]) {
      expect((await cli('devices', 'register', '--user', user, '--provider', provider, '--token', token)).code).toBe(0);
    }
    const logout = await cli('devices', 'unregister', '--provider', 'fcm', '--token', fcmToken('u1-phone'));
    expect(logout.code, logout.stderr).toBe(0);
    const deleted = await cli('devices', 'unregister', '--user', 'u2');
    expect(deleted.stdout).toContain('unregistered 2 devices of user u2 (account deleted)');

    const { code, stdout } = await sendTo(cli, config, users('u1', 'u2'));
    expect(code).toBe(0);
    expect(deliveredTokens()).toEqual([apnsToken('u1-tablet')]);
    const record = JSON.parse(stdout);
    expect(record.counts).toMatchObject({ targeted: 1, accepted: 1, invalid: 0 });
    expect(record.skippedByReason).toEqual({ unregistered: 1 });
    expect(record.errors).toContainEqual(
      expect.objectContaining({ reason: 'unregistered', detail: expect.stringMatching(/^the account was deleted \(devices unregister, \d{4}-\d\d-\d\d\)$/) }),
    );

    // Logging in again brings the device back.
    await cli('devices', 'register', '--user', 'u1', '--provider', 'fcm', '--token', fcmToken('u1-phone'));
    emulator.reset();
    await sendTo(cli, config, users('u1'));
    expect(deliveredTokens()).toEqual([apnsToken('u1-tablet'), fcmToken('u1-phone')].sort());
  });

  it('a token registered under another user moves to that user and never belongs to both', async () => {
    const { dir, config, cli } = world();
    const shared = fcmToken('shared-phone');
    await cli('devices', 'register', '--user', 'alice', '--provider', 'fcm', '--token', shared);
    await cli('devices', 'register', '--user', 'bob', '--provider', 'fcm', '--token', shared);
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    expect(await registry.devicesOf('alice')).toEqual([]);
    expect((await registry.devicesOf('bob')).map((device) => device.token)).toEqual([shared]);
    await registry.close();
    const { stdout } = await sendTo(cli, config, users('alice', 'bob'));
    expect(JSON.parse(stdout).skippedByReason).toEqual({ 'unknown-user': 1 });
    expect(emulator.delivered()).toEqual([
      expect.objectContaining({ token: shared, message: expect.objectContaining({ notification: expect.objectContaining({ title: 'Hi bob' }) }) }),
    ]);
  });
});

describe('staleness', () => {
  it('skips and counts devices not seen for longer than --max-age (default 90 days), in user audiences and channels; --max-age 0 sends to them', async () => {
    const { dir, config, cli } = world();
    const old = new Date(Date.now() - 120 * 86_400_000).toISOString();
    const recent = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const csv = ['provider,token,user_id,channels,last_seen', `fcm,${fcmToken('fresh')},u1,news,${recent}`, `fcm,${fcmToken('stale')},u1,news,${old}`].join('\n');
    writeFileSync(join(dir, 'devices.csv'), csv);
    expect((await cli('devices', 'import', 'devices.csv')).code).toBe(0);

    const byUser = JSON.parse((await sendTo(cli, config, users('u1'))).stdout);
    expect(byUser.counts).toMatchObject({ targeted: 1, accepted: 1, skipped: 1 });
    expect(byUser.devices).toBe(1); // devices worth trying, as LeanCloud counts them
    expect(byUser.skippedByReason).toEqual({ stale: 1 });
    expect(deliveredTokens()).toEqual([fcmToken('fresh')]);

    emulator.reset();
    const byChannel = JSON.parse((await cli('send', '--config', config, '--channel', 'news', '-m', message, '--no-journal', '--json')).stdout);
    expect(byChannel.skippedByReason).toEqual({ stale: 1 });
    expect(deliveredTokens()).toEqual([fcmToken('fresh')]);

    emulator.reset();
    const everyone = JSON.parse((await sendTo(cli, config, users('u1'), '--max-age', '0')).stdout);
    expect(everyone.counts).toMatchObject({ targeted: 2, skipped: 0 });
    expect(deliveredTokens()).toEqual([fcmToken('fresh'), fcmToken('stale')].sort());
  });
});

describe('APNs environments and apps in the record', () => {
  it('splits APNs counts by environment and by topic, matching what the emulator received', async () => {
    const { config, cli } = world();
    const devices: Array<[string, string, string, string]> = [
      ['p1', 'production', 'com.example.shop', apnsToken('p1')],
      ['p2', 'production', 'com.example.shop', apnsToken('p2')],
      ['p3', 'production', 'com.example.reader', apnsToken('p3')],
      ['s1', 'sandbox', 'com.example.shop', apnsToken('s1')],
    ];
    for (const [user, environment, app, token] of devices) {
      await cli('devices', 'register', '--user', user, '--provider', 'apns', '--token', token, '--environment', environment, '--app', app);
    }
    const record = JSON.parse((await sendTo(cli, config, users('p1', 'p2', 'p3', 's1'))).stdout);
    expect(record.apns.byEnvironment).toEqual({
      production: expect.objectContaining({ targeted: 3, accepted: 3 }),
      sandbox: expect.objectContaining({ targeted: 1, accepted: 1 }),
    });
    const received: Record<string, number> = {};
    for (const item of emulator.delivered()) received[item.headers['apns-topic']] = (received[item.headers['apns-topic']] ?? 0) + 1;
    expect(Object.fromEntries(Object.entries(record.apns.byTopic).map(([topic, counts]) => [topic, (counts as { accepted: number }).accepted]))).toEqual(received);
    expect(received).toEqual({ 'com.example.shop': 3, 'com.example.reader': 1 });
    const text = await cli('send', '--config', config, '-a', users('p1', 'p2', 'p3', 's1'), '-m', message, '--no-journal');
    expect(text.stdout).toContain('apns by environment:\n  production: 3 targeted, 3 accepted\n  sandbox: 1 targeted, 1 accepted\n');
    expect(text.stdout).toContain('apns by app:\n  com.example.shop: 3 targeted, 3 accepted\n  com.example.reader: 1 targeted, 1 accepted\n');
  });
});

describe('badges', () => {
  it('"increment" reaches 1, 2, 3 on the wire over three campaigns, and counts from 0 again after --badge 0', async () => {
    const { config, cli } = world();
    const token = apnsToken('badged');
    await cli('devices', 'register', '--user', 'b1', '--provider', 'apns', '--token', token);
    const counting = tempFile('badge.json', JSON.stringify({ title: 'You have news', badge: 'increment' }));
    const send = () => cli('send', '--config', config, '-a', users('b1'), '-m', counting, '--no-journal', '--quiet');
    const badgeOnWire = () => (emulator.delivered().at(-1)!.message as { aps: { badge?: number } }).aps.badge;
    const seen: Array<number | undefined> = [];
    for (let i = 0; i < 3; i++) {
      expect((await send()).code).toBe(0);
      seen.push(badgeOnWire());
    }
    expect(seen).toEqual([1, 2, 3]);
    expect((await cli('devices', 'register', '--user', 'b1', '--provider', 'apns', '--token', token, '--badge', '0')).code).toBe(0);
    await send();
    expect(badgeOnWire()).toBe(1);
  });

  it('a list of tokens has no badge to count from: "increment" is refused before anything is sent', async () => {
    const { config, cli } = world();
    const counting = tempFile('badge.json', JSON.stringify({ title: 'You have news', badge: 'increment' }));
    const { code, stderr } = await cli('send', '--config', config, '-a', tempFile('t.csv', `provider,token\napns,${apnsToken('t')}\n`), '-m', counting);
    expect(code).toBe(1);
    expect(stderr).toContain('badge "increment" counts up from each device\'s badge in the device registry');
    expect(emulator.stats().requests.apns).toBe(0);
  });
});

describe('migrating from Parse and LeanCloud', () => {
  it('imports a Parse Server _Installation export ({"results": […]}) with its providers, apps, channels, locales, time zones and badges; the rest by line and why', async () => {
    const { dir, cli } = world();
    const { code, stdout } = await cli('devices', 'import', '--from', 'parse', join(fixtures, 'parse-installations.json'), '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.imported).toBe(3);
    expect(result.problems).toEqual([
      { line: 69, reason: 'unmappable', detail: expect.stringContaining('no FCM token') },
      { line: 79, reason: 'unmappable', detail: expect.stringContaining('deviceType "win"') },
      { line: 89, reason: 'malformed-token', detail: expect.stringContaining('64 hex digits') },
    ]);
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    expect(await registry.devicesOf('u100')).toEqual([
      expect.objectContaining({
        provider: 'apns',
        app: 'com.example.shop',
        environment: null,
        locale: 'fa-IR',
        timezone: 'Asia/Tehran',
        channels: ['news', 'offers'],
        badge: 3,
        lastSeen: '2026-11-20T07:30:00.000Z',
      }),
      expect.objectContaining({ provider: 'fcm', locale: 'de-DE', timezone: 'Europe/Berlin', channels: ['news'], badge: 0 }),
    ]);
    expect(await registry.devicesOf('u200')).toEqual([
      expect.objectContaining({ provider: 'apns', platform: 'osx', app: 'com.example.shop.mac', lastSeen: '2026-10-01T12:00:00.000Z' }),
    ]);
    await registry.close();
  });

  it('imports a LeanCloud export (JSON lines) with prod as the environment, owner as the user, valid: false as invalid', async () => {
    const { dir, config, cli } = world();
    const { code, stdout } = await cli('devices', 'import', '--from', 'leancloud', join(fixtures, 'leancloud-installations.jsonl'), '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ imported: 4, invalid: 1 });
    expect(result.problems).toEqual([
      { line: 3, reason: 'unmappable', detail: expect.stringContaining("LeanCloud's own push channel") },
      { line: 6, reason: 'unmappable', detail: expect.stringContaining('deviceType "wp"') },
    ]);
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    expect(await registry.devicesOf('lc-user-1')).toEqual([
      expect.objectContaining({
        provider: 'apns',
        environment: 'sandbox',
        app: 'com.example.reader',
        timezone: 'Asia/Shanghai',
        locale: 'zh-Hans-CN',
        channels: ['public', 'sports'],
        badge: 5,
      }),
    ]);
    expect(await registry.devicesOf('lc-user-2')).toEqual([expect.objectContaining({ environment: 'production', timezone: 'Asia/Kathmandu' })]);
    expect(await registry.devicesOf('lc-user-3')).toEqual([expect.objectContaining({ provider: 'fcm', timezone: 'Pacific/Chatham', channels: ['sports'] })]);
    await registry.close();
    // The channel reaches the valid, mapped devices only.
    const sent = JSON.parse((await cli('send', '--config', config, '--channel', 'public', '-m', message, '--no-journal', '--json')).stdout);
    expect(sent.counts).toMatchObject({ targeted: 2, accepted: 2 });
    expect(emulator.delivered().map((item) => item.provider)).toEqual(['apns', 'apns']);
  });
});

describe('reading exports as they stream in: line numbers, broken and cut-short files', () => {
  const parseExport = readFileSync(join(fixtures, 'parse-installations.json'), 'utf8');
  const installations: unknown[] = JSON.parse(parseExport).results;
  /** The line `part` starts on in `text`, counted as an editor does. */
  const lineOf = (text: string, part: string) => text.slice(0, text.indexOf(part)).split('\n').length;

  it.each([
    [
      'indented, two installations to a line and blank lines between',
      2,
      (texts: string[]) => `[${texts[0]}, ${texts[1]},\n${texts[2]}, ${texts[3]}\n,\n\n${texts[4]},${texts[5]}]`,
    ],
    ['on one line', 0, (texts: string[]) => `[${texts.join(',')}]`],
  ])("a bare JSON array (%s): each problem names the line of its installation's opening brace", async (_, indent, layout) => {
    const { dir, cli } = world();
    const texts = installations.map((installation) => JSON.stringify(installation, null, indent));
    const text = layout(texts);
    const { code, stdout, stderr } = await cli('devices', 'import', '--from', 'parse', tempFile('installations.json', text), '--json');
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.imported).toBe(3);
    expect(result.problems).toEqual([
      { line: lineOf(text, texts[3]), reason: 'unmappable', detail: expect.stringContaining('no FCM token') },
      { line: lineOf(text, texts[4]), reason: 'unmappable', detail: expect.stringContaining('deviceType "win"') },
      { line: lineOf(text, texts[5]), reason: 'malformed-token', detail: expect.stringContaining('64 hex digits') },
    ]);
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    expect((await registry.devicesOf('u100')).map((device) => device.provider)).toEqual(['apns', 'fcm']);
    expect(await registry.devicesOf('u200')).toEqual([expect.objectContaining({ lastSeen: '2026-10-01T12:00:00.000Z' })]);
    await registry.close();
  });

  it('a broken export says the line and column where it breaks and why, and imports nothing', async () => {
    const { dir, cli } = world();
    const broken = tempFile('parse-broken.json', parseExport.replace('"badge": 3,', '"badge": 3'));
    const { code, stderr } = await cli('devices', 'import', '--from', 'parse', broken);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `pushcast: ${broken}: not valid JSON: line 14, column 7: expected "," or the end of the object or list after a value, found "\\""; nothing was imported (an export is a JSON array, {"results": […]}, or one JSON object per line)\n`,
    );
    expect(existsSync(join(dir, 'pushcast.db'))).toBe(false);
  });

  it('an export cut short in the middle of an installation says so, and imports nothing', async () => {
    const { dir, cli } = world();
    const kept = parseExport.slice(0, 2000);
    const cut = tempFile('parse-cut.json', kept);
    const { code, stderr } = await cli('devices', 'import', '--from', 'parse', cut);
    expect(code).toBe(1);
    const [line, column] = [kept.split('\n').length, kept.length - kept.lastIndexOf('\n')];
    expect(stderr).toBe(
      `pushcast: ${cut}: the file ends at line ${line}, column ${column}, in the middle of its JSON: it was cut short; nothing was imported (export it again in full)\n`,
    );
    expect(existsSync(join(dir, 'pushcast.db'))).toBe(false);
  });

  it('JSON lines cut short: the last line is a problem that says so, and the lines before it are imported, each line standing alone', async () => {
    const { cli } = world();
    const lines = readFileSync(join(fixtures, 'leancloud-installations.jsonl'), 'utf8').split('\n');
    const cut = tempFile('leancloud-cut.jsonl', `${lines.slice(0, 3).join('\n')}\n${lines[3].slice(0, 100)}`);
    const { code, stdout } = await cli('devices', 'import', '--from', 'leancloud', cut, '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.imported).toBe(2);
    expect(result.problems).toEqual([
      { line: 3, reason: 'unmappable', detail: expect.stringContaining("LeanCloud's own push channel") },
      { line: 4, reason: 'malformed-row', detail: 'not valid JSON: the file ends in the middle of this line, so it was cut short (export it again in full)' },
    ]);
  });

  /** Installations on one line each, as `{"results": […]}` (Parse) or JSON lines (LeanCloud) write them. */
  const streamed = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => JSON.stringify({ deviceType: 'ios', deviceToken: apnsToken(`streamed${from + i}`), user: { objectId: `s${from + i}` } }));

  it.each([
    ['parse', '{"results": [\n', ',\n', '\n]}\n'],
    ['leancloud', '', '\n', '\n'],
  ])('--from %s reads the export as it arrives: from a pipe, installations reach the registry before the export is complete', async (source, head, between, tail) => {
    const { dir } = world();
    const fifo = join(dir, 'export.fifo');
    execFileSync('mkfifo', [fifo]);
    const importing = spawnCli(['devices', 'import', '--from', source, fifo, '--json'], { cwd: dir });
    const writer = createWriteStream(fifo);
    // 6,000: the import writes to the registry 5,000 at a time.
    writer.write(`${head}${streamed(0, 6000).join(between)}${between}`);
    const imported = async () => {
      try {
        const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
        const { devices } = await registry.stats();
        await registry.close();
        return devices >= 5000 && devices;
      } catch {
        return undefined; // not there yet, or busy being created
      }
    };
    try {
      await waitFor(async () => existsSync(join(dir, 'pushcast.db')) && (await imported()), 'the first installations in the registry while the export is still open', 30_000);
    } finally {
      writer.end(`${streamed(6000, 6001).join('')}${tail}`);
      await once(writer, 'finish');
    }
    const { code, stdout, stderr } = await importing;
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ imported: 6001, problems: [] });
  });
});
