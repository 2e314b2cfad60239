import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bodyCutReason } from '../src/emulator/handle-fcm.js';
import { apnsInvalidProviderToken, fcmThirdPartyAuthError, fcmUnauthenticated, webPushRefusals, type RealAnswer } from '../src/emulator/real-answers.js';
import { apnsCollapseId } from '../src/message/limits.js';
import { ProviderSet } from '../src/providers/provider-set.js';
import type { Provider } from '../src/providers/provider.js';
import { classifyWebPushResponse } from '../src/providers/webpush/classify-webpush.js';
import { rendered, startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { waitFor } from './helpers/wait-for.js';
import { audienceFile, subscriptionCell } from './helpers/audience.js';
import { apnsToken, emulatorSubscription, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

/**
 * What goes on the wire is what the providers expect, and their answers are read right: each
 * test asserts on what the emulator received, or on the services' real answer bodies.
 */
const subscriptionOf = (id: string, origin?: string) => subscriptionCell(emulatorSubscription(id, origin));
const safari = (i: number) => emulatorSubscription(`safari-${i}`, 'https://web.push.apple.com');

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    forced: {
      ...Object.fromEntries([0, 1, 2].map((i) => [safari(i).endpoint, { status: 403, reason: 'BadJwtToken' }])),
      [fcmToken('bad-access-token')]: { status: 401, reason: 'UNAUTHENTICATED' },
      [fcmToken('no-apns-key')]: { status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' },
      [fcmToken('body-cut')]: { status: 200, reason: bodyCutReason },
    },
  });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

async function withProvider<T>(name: 'fcm' | 'apns' | 'webpush', use: (provider: Provider) => Promise<T>): Promise<T> {
  const providers = new ProviderSet(emulator.config());
  try {
    return await use((await providers.get(name))!);
  } finally {
    await providers.close();
  }
}

describe('provider answers, read by their bodies', () => {
  const answer = (endpoint: string, real: RealAnswer) => classifyWebPushResponse(endpoint, real.status, {}, real.body);

  it("web push: a refused VAPID JWT is the origin's problem, a key mismatch the subscription's, as each service words it", () => {
    expect(answer('https://fcm.googleapis.com/fcm/send/a', webPushRefusals.fcm.badJwt)).toMatchObject({
      kind: 'rejected',
      reason: 'credentials-refused',
      scope: 'https://fcm.googleapis.com',
    });
    expect(answer('https://fcm.googleapis.com/fcm/send/a', webPushRefusals.fcm.keyMismatch)).toMatchObject({ kind: 'invalid', reason: 'other-sender' });
    expect(answer('https://updates.push.services.mozilla.com/wpush/v2/a', webPushRefusals.mozilla.badJwt)).toMatchObject({
      kind: 'rejected',
      reason: 'credentials-refused',
      scope: 'https://updates.push.services.mozilla.com',
    });
    expect(answer('https://web.push.apple.com/a', webPushRefusals.apple.badJwt)).toMatchObject({
      kind: 'rejected',
      reason: 'credentials-refused',
      scope: 'https://web.push.apple.com',
    });
    // Never a dead subscription: a refused JWT is not a reason to prune.
    for (const service of Object.values(webPushRefusals)) expect(answer('https://web.push.apple.com/a', service.badJwt).kind).not.toBe('invalid');
    expect(classifyWebPushResponse('https://web.push.apple.com/a', 410, {}, '{"reason":"Unregistered"}')).toMatchObject({
      kind: 'invalid',
      reason: 'unregistered',
      detail: expect.stringContaining('Unregistered'),
    });
    expect(classifyWebPushResponse('https://wns2-by3p.notify.windows.com/w/?token=a', 406, {}, '')).toMatchObject({ kind: 'retryable', reason: 'rate-limited' });
  });

  it('web push: Apple refusing the JWT for every Safari subscription halts Apple only; Chrome goes on, and nobody is pruned', async () => {
    const rows = [
      'subscription,name',
      ...[0, 1, 2].map((i) => `${subscriptionOf(`safari-${i}`, 'https://web.push.apple.com')},S`),
      ...[...Array(10)].map((_, i) => `${subscriptionOf(`chrome-${i}`)},C`),
    ];
    const dir = tempDir();
    const { code, stdout, stderr } = await runCli(
      [
        'send',
        '--config',
        writeEmulatorConfig(emulator, {}, dir),
        '-a',
        tempFile('mixed.csv', `${rows.join('\n')}\n`),
        '-m',
        tempFile('m.json', '{"title":"Hi"}'),
        '--no-journal',
        '--invalid-out',
        'prune.csv',
        '--json',
      ],
      { cwd: dir },
    );
    expect(code).toBe(2);
    expect(stderr).toContain('pushcast: webpush to https://web.push.apple.com stopped (credentials-refused-for-all): https://web.push.apple.com refused the VAPID JWT');
    const record = JSON.parse(stdout);
    expect(record.status).toBe('done');
    expect(record.counts).toMatchObject({ accepted: 10, failed: 3, invalid: 0 });
    expect(record.halted).toEqual([
      { provider: 'webpush', scope: 'https://web.push.apple.com', reason: 'credentials-refused-for-all', fix: expect.stringContaining('webpush.subject') },
    ]);
    expect(readFileSync(join(dir, 'prune.csv'), 'utf8').trim().split('\n')).toHaveLength(1); // the header only
    expect(emulator.stats().rejected.webpush).toEqual({ BadJwtToken: 3 });
  });

  it('FCM: a refused access token (401 UNAUTHENTICATED) is told apart from a refused APNs key (THIRD_PARTY_AUTH_ERROR)', async () => {
    // The emulator answers both with FCM's real bodies; firebase-admin maps both to one code.
    expect(JSON.parse(fcmUnauthenticated.body).error.details).toBeUndefined();
    expect(fcmThirdPartyAuthError.body).toContain('Auth error from APNS or Web Push Service');
    const outcomes = await withProvider('fcm', (fcm) =>
      fcm.send([rendered('fcm', fcmToken('bad-access-token')), rendered('fcm', fcmToken('no-apns-key'))] as never, new AbortController().signal),
    );
    expect(outcomes).toMatchObject([
      {
        kind: 'rejected',
        reason: 'credentials-refused',
        detail: expect.stringContaining('UNAUTHENTICATED'),
        wrongSender: { fix: expect.stringContaining('service account key (fcm.serviceAccount)'), when: 'all' },
      },
      {
        kind: 'rejected',
        reason: 'third-party-credentials-refused',
        detail: expect.stringContaining('THIRD_PARTY_AUTH_ERROR'),
        wrongSender: { fix: expect.stringContaining('APNs key'), when: 'all' },
      },
    ]);
    expect(apnsInvalidProviderToken.status).toBe(403);
  });

  // Each sending thread has clients of its own, so one token each.
  it.each([0, 1, 2])('FCM: one OAuth token serves the credential check and the sends (--workers %i)', async (workers) => {
    const dir = tempDir();
    const audience = tempFile('a.csv', `provider,token\nfcm,${fcmToken('once-1')}\nfcm,${fcmToken('once-2')}\n`);
    const before = emulator.stats().oauthTokensIssued;
    const args = [
      'send',
      '--config',
      writeEmulatorConfig(emulator, {}, dir),
      '-a',
      audience,
      '-m',
      tempFile('m.json', '{"title":"Hi"}'),
      '--no-journal',
      '--workers',
      String(workers),
    ];
    const { code } = await runCli(args, { cwd: dir });
    expect(code).toBe(0);
    expect(emulator.stats().oauthTokensIssued - before).toBe(Math.max(1, workers));
  });
});

describe('requests the services would take but act on wrongly', () => {
  it('a group beyond ASCII still reaches APNs as a collapse id, the same directly and through FCM', async () => {
    const group = 'Распродажа 🎉';
    await withProvider('apns', (apns) => apns.send([rendered('apns', apnsToken('ru'), { title: 'T', group })] as never, new AbortController().signal));
    await withProvider('fcm', (fcm) => fcm.send([rendered('fcm', fcmToken('ru'), { title: 'T', group })] as never, new AbortController().signal));
    const [direct, viaFcm] = emulator.delivered();
    expect(direct.headers['apns-collapse-id']).toBe(apnsCollapseId(group));
    expect(viaFcm.headers['apns-collapse-id']).toBe(apnsCollapseId(group));
    expect(viaFcm.headers.collapse_key).toBe(group); // FCM's own key travels in JSON, as written
  });

  it("every FCM message carries the campaign's id as its analytics label (FCM keeps its delivery data by label); --label replaces it, --no-label leaves it out", async () => {
    const config = writeEmulatorConfig(emulator);
    const message = tempFile('label.json', JSON.stringify({ title: 'Hi', body: 'News' }));
    const labelsSent = async (...flags: string[]) => {
      emulator.reset();
      const { code, stdout, stderr } = await runCli([
        'send',
        '--config',
        config,
        '-a',
        audienceFile('fcm', 3, `label${flags.length}`),
        '-m',
        message,
        '--no-journal',
        '--json',
        ...flags,
      ]);
      // FCM reads its JSON as proto3 does, either spelling: firebase-admin writes fcmOptions.analyticsLabel.
      type Labelled = { fcm_options?: { analytics_label?: string }; fcmOptions?: { analyticsLabel?: string } };
      const labels = emulator.delivered().map(({ message }) => (message as Labelled).fcm_options?.analytics_label ?? (message as Labelled).fcmOptions?.analyticsLabel);
      return { code, stderr, labels, record: code === 0 ? JSON.parse(stdout) : undefined };
    };
    const named = await labelsSent('--campaign', 'weekly-news');
    expect(named.labels).toEqual(['weekly-news', 'weekly-news', 'weekly-news']);
    expect(named.record.fcm).toEqual({ analyticsLabel: 'weekly-news' });
    const long = 'spring-sale-for-every-customer-who-bought-twice-in-2026-and-then-some';
    const shortened = await labelsSent('--campaign', long);
    expect(shortened.labels[0]).toMatch(/^spring-sale-for-every-customer-who-bought-[0-9a-f]{8}$/);
    expect(shortened.record.fcm.analyticsLabel).toBe(shortened.labels[0]);
    expect((await labelsSent('--campaign', 'weekly-news', '--label', 'spring_sale.v2%7E')).labels).toEqual(Array(3).fill('spring_sale.v2%7E'));
    const none = await labelsSent('--campaign', 'weekly-news', '--no-label');
    expect(none.labels).toEqual([undefined, undefined, undefined]);
    expect(none.record.fcm).toBeUndefined();
    const refused = await labelsSent('--label', 'spring sale!');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--label takes 1 to 50 letters, digits and - _ . ~ % (FCM's grammar for analytics labels)");
    expect(refused.labels).toEqual([]);
  });

  // Seen under cut connections on Node 24 and 26: firebase-admin read the 200 and an empty body
  // (app/unable-to-parse-response), taken for a server error, and the message went out again.
  it('FCM: a 200 whose body the connection cut short is accepted, never sent again', async () => {
    const audience = tempFile('body-cut.csv', `provider,token\nfcm,${fcmToken('body-cut')}\n`);
    const message = tempFile('body-cut.json', JSON.stringify({ title: 'Hi', body: 'News' }));
    const { code, stdout, stderr } = await runCli(['send', '--config', writeEmulatorConfig(emulator), '-a', audience, '-m', message, '--no-journal', '--json']);
    expect(code, stderr).toBe(0);
    const record = JSON.parse(stdout);
    expect(record.providers.fcm).toMatchObject({ targeted: 1, accepted: 1, failed: 0, uncertain: 0 });
    expect(record.retries).toBe(0);
    expect(emulator.stats().accepted.fcm).toBe(1);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('apns-expiration through FCM counts from each request, and a TTL of 0 goes out as 0 on both paths', async () => {
    const item = rendered('fcm', fcmToken('ttl-a'), { title: 'T', ttl: 3600 });
    await withProvider('fcm', async (fcm) => {
      await fcm.send([item] as never, new AbortController().signal);
      // The next request goes in a later second than the first, so its expiration is later.
      const firstSecond = Math.floor(Date.parse(emulator.delivered()[0].at) / 1000);
      await waitFor(() => Math.floor(Date.now() / 1000) > firstSecond, "the clock to pass the first request's second");
      await fcm.send([rendered('fcm', fcmToken('ttl-b'), { title: 'T', ttl: 3600 })] as never, new AbortController().signal);
      await fcm.send([rendered('fcm', fcmToken('ttl-0'), { title: 'T', ttl: 0 })] as never, new AbortController().signal);
    });
    await withProvider('apns', (apns) => apns.send([rendered('apns', apnsToken('ttl-0'), { title: 'T', ttl: 0 })] as never, new AbortController().signal));
    const [first, second, once, onceDirect] = emulator.delivered();
    const expiry = (at: string) => Math.floor(Date.parse(at) / 1000) + 3600;
    expect(Number(first.headers['apns-expiration'])).toBeGreaterThanOrEqual(expiry(first.at) - 1);
    expect(Number(second.headers['apns-expiration'])).toBeGreaterThanOrEqual(expiry(second.at) - 1);
    expect(Number(second.headers['apns-expiration']) - Number(first.headers['apns-expiration'])).toBeGreaterThanOrEqual(1);
    expect(once.headers['apns-expiration']).toBe('0');
    expect(onceDirect.headers['apns-expiration']).toBe('0');
  });

  it('a background (data) push carries content-available and nothing else in aps, directly and through FCM', async () => {
    await withProvider('apns', (apns) => apns.send([rendered('apns', apnsToken('bg'), { kind: 'data', data: { sync: '1' } })] as never, new AbortController().signal));
    await withProvider('fcm', (fcm) => fcm.send([rendered('fcm', fcmToken('bg'), { kind: 'data', data: { sync: '1' } })] as never, new AbortController().signal));
    const [direct, viaFcm] = emulator.delivered();
    expect((direct.message as { aps: unknown }).aps).toEqual({ 'content-available': 1 });
    expect((viaFcm.message as { apns: { payload: { aps: unknown } } }).apns.payload.aps).toEqual({ 'content-available': 1 });
    const { code, stderr } = await runCli([
      'send',
      '--provider',
      'apns',
      '-a',
      tempFile('a.csv', `token\n${apnsToken('x')}\n`),
      '-m',
      tempFile('bg.json', '{"kind":"data","badge":3,"data":{"a":"b"}}'),
      '--dry-run',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('a data message is not shown, so badge would be lost');
  });

  it("sizes are measured as sent, raw overrides included, and FCM's reserved data keys are refused up front", async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = tempFile('a.csv', `provider,token\nfcm,${fcmToken('big')}\n`);
    const big = tempFile('big.json', JSON.stringify({ title: 'Hi', fcm: { android: { data: { blob: 'x'.repeat(4500) } } } }));
    const plan = await runCli(['send', '--config', config, '-a', audience, '-m', big, '--dry-run', '--json']);
    expect(JSON.parse(plan.stdout).skipped).toEqual({ 'payload-too-large': 1 });
    const sent = await runCli(['send', '--config', config, '-a', audience, '-m', big, '--no-journal', '--json'], { cwd: dir });
    expect(sent.code).toBe(3);
    expect(emulator.stats().requests.fcm).toBe(0);
    const reserved = await runCli(['send', '--config', config, '-a', audience, '-m', tempFile('r.json', '{"title":"Hi","data":{"from":"shop","google.x":"y"}}'), '--dry-run']);
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toContain('data.from: FCM reserves this data key');
    expect(reserved.stderr).toContain('data.google.x: FCM reserves this data key');
  });

  it('the web push JSON: app_badge as a number, tag from group; or Declarative Web Push, decrypted as the browser gets it', async () => {
    const template = { title: 'Sale', body: 'Now', link: 'https://shop.example/sale', badge: 2, group: 'spring', thread: 'promos' };
    await withProvider('webpush', (webpush) => webpush.send([rendered('webpush', 'plain', template)] as never, new AbortController().signal));
    expect(emulator.delivered()[0].message).toEqual({ title: 'Sale', body: 'Now', link: 'https://shop.example/sale', tag: 'spring', app_badge: 2 });
    emulator.reset();
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { webpush: { format: 'declarative' } }, dir);
    const audience = tempFile('w.csv', `subscription\n${subscriptionOf('declarative')}\n`);
    const message = tempFile('m.json', JSON.stringify(template));
    expect((await runCli(['send', '--config', config, '-a', audience, '-m', message, '--no-journal'], { cwd: dir })).code).toBe(0);
    expect(emulator.delivered()[0].message).toEqual({
      web_push: 8030,
      notification: { title: 'Sale', body: 'Now', navigate: 'https://shop.example/sale', tag: 'spring' },
      app_badge: 2,
    });
  });
});

describe('web push over HTTP/2 and over HTTP/1.1', () => {
  it('puts the same request on the wire either way: the service chooses by ALPN, pushcast follows', async () => {
    const http1Only = await startEmulator({ http1Only: true });
    const template = { title: 'Sale', body: 'Привет 🎉', group: 'sale-1', ttl: 600, priority: 'high', data: { a: 'b' } } as const;
    const sendTo = async (target: Emulator) => {
      const providers = new ProviderSet(target.config());
      try {
        const webpush = (await providers.get('webpush'))!;
        const outcomes = await webpush.send([rendered('webpush', 'one', template), rendered('webpush', 'two', template)] as never, new AbortController().signal);
        expect(outcomes.map((outcome) => outcome.kind)).toEqual(['accepted', 'accepted']);
      } finally {
        await providers.close();
      }
      return target.delivered().map(({ at: _at, ...rest }) => rest);
    };
    try {
      const overHttp2 = await sendTo(emulator);
      const overHttp1 = await sendTo(http1Only);
      expect(emulator.stats().http2Requests.webpush).toBe(2);
      expect(http1Only.stats()).toMatchObject({ requests: { webpush: 2 }, http2Requests: { webpush: 0 } });
      expect(overHttp2).toEqual(overHttp1);
      expect(overHttp2[0]).toMatchObject({ headers: { TTL: '600', Urgency: 'high', Topic: 'sale-1' }, message: { title: 'Sale', body: 'Привет 🎉', tag: 'sale-1' } });
    } finally {
      await http1Only.close();
    }
  });

  // Push services take 100 streams on a connection, as the emulator does: pushcast's 200 in flight
  // take a second connection rather than wait in line on one, and no third.
  it('takes a second connection when every stream of the first is taken, and only as many as it needs', async () => {
    const slow = await startEmulator({ latencyMs: 50 });
    const message = tempFile('m.json', JSON.stringify({ title: 'Sale', body: 'Today' }));
    try {
      const { code, stdout } = await runCli(['send', '--config', writeEmulatorConfig(slow), '-a', audienceFile('webpush', 400, 'pool'), '-m', message, '--no-journal', '--json']);
      expect(code, stdout).toBe(0);
      expect(JSON.parse(stdout).counts).toMatchObject({ targeted: 400, accepted: 400 });
      expect(slow.stats()).toMatchObject({ http2Requests: { webpush: 400 }, http2Connections: { webpush: 2 }, duplicates: 0 });
    } finally {
      await slow.close();
    }
  });
});

describe('inputs that must not turn against us', () => {
  it('an endpoint is contacted only as written: one the URL parser reads differently is refused', async () => {
    const sub = emulatorSubscription('ssrf');
    const cells = [
      'https:/fcm.googleapis.com/fcm/send/ssrf',
      'https:fcm.googleapis.com/fcm/send/ssrf',
      'https://FCM.googleapis.com/fcm/send/ssrf',
      'https://user@fcm.googleapis.com/fcm/send/ssrf',
    ];
    const rows = ['endpoint,p256dh,auth', ...cells.map((endpoint) => `${endpoint},${sub.keys.p256dh},${sub.keys.auth}`)];
    // No endpoint override: web-push would connect wherever Node's legacy url.parse() points.
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { webpush: { endpoint: undefined } }, dir);
    const { stdout } = await runCli(
      ['send', '--config', config, '-a', tempFile('ssrf.csv', `${rows.join('\n')}\n`), '-m', tempFile('m.json', '{"title":"Hi"}'), '--no-journal', '--json'],
      { cwd: dir },
    );
    const record = JSON.parse(stdout);
    expect(record.counts).toMatchObject({ targeted: 0, skipped: 4 });
    expect(record.errors).toEqual(
      cells.map((_, index) => expect.objectContaining({ line: index + 2, reason: 'malformed-token', detail: expect.stringContaining('not written the way a URL reads') })),
    );
  });

  it('templates: only documented helpers, whole parse errors, and a placeholder naming no column said once, with a guess', async () => {
    const audience = tempFile('a.csv', `provider,token,name\nfcm,${fcmToken('t1')},Ann\nfcm,${fcmToken('t2')},Bob\n`);
    const send = (message: string, path = tempFile('m.json', message)) => runCli(['send', '-a', audience, '-m', path, '--dry-run', '--json']);
    const logged = await send('{"title":"Hi {{log \\"leak\\"}}"}');
    // With --json, stdout is the error as one object, and nothing of the template leaks there.
    expect(logged.code).toBe(1);
    expect(JSON.parse(logged.stdout)).toEqual({
      status: 'error',
      error: { code: 'PUSHCAST_INPUT', reason: 'input', message: expect.stringContaining('calls a helper pushcast does not have') },
    });
    expect(logged.stderr).toContain('title: {{log …}} calls a helper pushcast does not have (it has: default, #if, #unless)');
    const broken = await send('{"title":"Hi {{name"}');
    expect(broken.stderr).toContain('title: Parse error on line 1:\n    Hi {{name\n    -----^\n    Expecting');
    const typoFile = tempFile('typo.json', '{"title":"Hi {{nmae}}, {{toString}}"}');
    const typo = await send('', typoFile);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe(
      `pushcast: message ${typoFile}: {{nmae}} names no column of the audience (did you mean {{name}}?); {{toString}} names no column of the audience; the columns of ${audience} are provider, name\n`,
    );
  });

  it('templates: a column named __proto__ is a column like any other', async () => {
    const dir = tempDir();
    const audience = tempFile('p.csv', `provider,token,__proto__\nfcm,${fcmToken('proto')},kept\n`);
    const { code } = await runCli(
      ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audience, '-m', tempFile('m.json', '{"title":"{{__proto__}}"}'), '--no-journal'],
      { cwd: dir },
    );
    expect(code).toBe(0);
    expect(emulator.delivered()[0].message).toMatchObject({ notification: { title: 'kept' } });
  });

  it('a file that is not UTF-8 is refused with its line; a stray bad line deep in a UTF-8 file is skipped, and the rest goes', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const message = tempFile('m.json', '{"title":"Hi {{name}}"}');
    const send = (audience: Buffer) => runCli(['send', '--config', config, '-a', tempFile('cp1252.csv', audience), '-m', message, '--no-journal', '--json'], { cwd: dir });
    const bad = (id: string) => Buffer.concat([Buffer.from(`fcm,${fcmToken(id)},Ren`), Buffer.from([0xe9]), Buffer.from('e\n')]); // "é" in Windows-1252

    const early = await send(Buffer.concat([Buffer.from(`provider,token,name\nfcm,${fcmToken('utf-ok')},Ann\n`), bad('utf-bad')]));
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/line 3: the file is not UTF-8 .*--encoding windows-1252/);
    expect(emulator.stats().requests.fcm).toBe(0);

    // Past the bytes read to decide the encoding, a bad line is that line's problem only.
    const good = Array.from({ length: 600 }, (_, i) => `fcm,${fcmToken(`utf-${i}`)},Ann`).join('\n');
    const late = await send(Buffer.concat([Buffer.from(`provider,token,name\n${good}\n`), bad('utf-late')]));
    const record = JSON.parse(late.stdout);
    expect(record.counts).toMatchObject({ accepted: 600, skipped: 1 });
    expect(record.errors).toEqual([expect.objectContaining({ line: 602, reason: 'invalid-encoding' })]);
    expect(emulator.delivered().every((item) => (item.message as { notification: { title: string } }).notification.title === 'Hi Ann')).toBe(true);
  });

  it('control characters from a file never reach the terminal raw', async () => {
    const { code, stderr } = await runCli([
      'send',
      '-a',
      tempFile('bin.csv', 'tok\u001b[2J\u001b]0;owned\u0007en\n1\n'),
      '-p',
      'fcm',
      '-m',
      tempFile('m.json', '{"title":"Hi"}'),
      '--dry-run',
    ]);
    expect(code).toBe(1);
    // The header's one ";" makes it a semicolon file: the two names are shown escaped.
    expect(stderr).toContain('found: tok\\x1b[2J\\x1b]0, owned\\x07en');
    // eslint-disable-next-line no-control-regex -- the test looks for the raw escape bytes
    expect(stderr).not.toMatch(/[\u001b\u0007]/);
  });
});
