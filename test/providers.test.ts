import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderName } from '../src/domain/recipient.js';
import type { PushcastConfig } from '../src/config/config.js';
import { ConfigError } from '../src/errors.js';
import { ProviderSet } from '../src/providers/provider-set.js';
import { OpenSessions } from '../src/providers/http2/open-sessions.js';
import { PushServiceConnections } from '../src/providers/webpush/push-service-connections.js';
import { waitFor } from './helpers/wait-for.js';
import type { Outcome } from '../src/domain/outcome.js';
import type { Provider, Rendered } from '../src/providers/provider.js';
import { rendered, startEmulator, type Emulator } from './helpers/emulator.js';
import { apnsToken, emulatorSubscription, fcmToken } from './helpers/tokens.js';

const forced = {
  [fcmToken('unregistered')]: { status: 404, reason: 'UNREGISTERED' },
  [fcmToken('bad-argument')]: { status: 400, reason: 'INVALID_ARGUMENT' },
  [fcmToken('other-project')]: { status: 403, reason: 'SENDER_ID_MISMATCH' },
  [fcmToken('quota')]: { status: 429, reason: 'QUOTA_EXCEEDED', retryAfterSeconds: 7 },
  [fcmToken('internal')]: { status: 500, reason: 'INTERNAL' },
  [fcmToken('apns-auth')]: { status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' },
  [apnsToken('unregistered')]: { status: 410, reason: 'Unregistered' },
  [apnsToken('bad')]: { status: 400, reason: 'BadDeviceToken' },
  [apnsToken('other-app')]: { status: 400, reason: 'DeviceTokenNotForTopic' },
  [apnsToken('throttled')]: { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 3 },
  [apnsToken('unavailable')]: { status: 503, reason: 'ServiceUnavailable' },
  [apnsToken('too-large')]: { status: 413, reason: 'PayloadTooLarge' },
  [apnsToken('bad-cert')]: { status: 403, reason: 'BadCertificate' },
  [emulatorSubscription('gone').endpoint]: { status: 410, reason: 'gone' },
  [emulatorSubscription('not-found').endpoint]: { status: 404, reason: 'not-found' },
  [emulatorSubscription('too-large').endpoint]: { status: 413, reason: 'too-large' },
  [emulatorSubscription('throttled').endpoint]: { status: 429, reason: 'throttled', retryAfterSeconds: 2 },
  [emulatorSubscription('down').endpoint]: { status: 503, reason: 'down' },
  [emulatorSubscription('unauthorized').endpoint]: { status: 401, reason: 'unauthorized' },
};

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ forced, apnsTopics: ['com.example.pushcast'] });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

async function sendWith<P extends ProviderName>(name: P, items: Rendered[], config: PushcastConfig = emulator.config()): Promise<Outcome[]> {
  const providers = new ProviderSet(config);
  try {
    const provider = (await providers.get(name)) as Provider;
    return await provider.send(items as never, new AbortController().signal);
  } finally {
    await providers.close();
  }
}

describe('FCM through firebase-admin', () => {
  it('puts collapse_key, ttl, priority, tag and the apns and webpush blocks where FCM expects them', async () => {
    const item = rendered('fcm', fcmToken(1), { title: 'Sale', body: 'Now', group: 'sale-1', thread: 'promos', ttl: 3600, priority: 'high', data: { a: 'b' } });
    expect(await sendWith('fcm', [item])).toEqual([{ kind: 'accepted', id: expect.stringMatching(/^projects\/pushcast-emulator\/messages\//) }]);
    const [delivered] = emulator.delivered();
    expect(delivered.token).toBe(fcmToken(1));
    expect(delivered.headers).toMatchObject({
      collapse_key: 'sale-1',
      ttl: '3600s',
      priority: 'high',
      'apns-collapse-id': 'sale-1',
      'apns-push-type': 'alert',
      Topic: 'sale-1',
      Urgency: 'high',
    });
    expect(delivered.message).toMatchObject({
      notification: { title: 'Sale', body: 'Now' },
      data: { a: 'b' },
      android: { notification: { tag: 'sale-1' } }, // a newer notification of the group replaces the one shown
      apns: { payload: { aps: { 'thread-id': 'promos' } } }, // only iOS groups by thread
      webpush: { headers: { TTL: '3600', Urgency: 'high', Topic: 'sale-1' }, notification: { tag: 'sale-1' } },
    });
  });

  it('sends a data message without a notification, as a background push for iOS', async () => {
    await sendWith('fcm', [rendered('fcm', fcmToken(2), { kind: 'data', data: { sync: '1' } })]);
    const [delivered] = emulator.delivered();
    expect(delivered.message).not.toHaveProperty('notification');
    expect(delivered.message).toMatchObject({
      data: { sync: '1' },
      apns: { headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, payload: { aps: { 'content-available': 1 } } },
    });
  });

  it('classifies every FCM error the emulator gives as its real wire body', async () => {
    const tokens = ['unregistered', 'bad-argument', 'other-project', 'quota', 'internal', 'apns-auth'].map((id) => fcmToken(id));
    const outcomes = await sendWith('fcm', [...tokens.map((token) => rendered('fcm', token)), rendered('fcm', 'not a valid token')]);
    expect(outcomes).toMatchObject([
      // A dead token; in bulk, likelier another project's tokens: marked for the sanity guard, which weighs how many.
      { kind: 'invalid', reason: 'unregistered', wrongSender: { when: 'many' } },
      { kind: 'rejected', reason: 'bad-message', detail: expect.stringMatching(/^INVALID_ARGUMENT: /) },
      {
        kind: 'invalid',
        reason: 'other-sender',
        detail: expect.stringMatching(/^SENDER_ID_MISMATCH: /),
        wrongSender: { fix: expect.stringContaining('another Firebase project'), when: 'all' },
      },
      { kind: 'retryable', reason: 'rate-limited', retryAfterMs: 7000, because: 'answered' },
      { kind: 'retryable', reason: 'unavailable', detail: expect.stringMatching(/^INTERNAL: /), because: 'answered' },
      { kind: 'rejected', reason: 'third-party-credentials-refused', wrongSender: { fix: expect.stringContaining('APNs key'), when: 'all' } },
      { kind: 'invalid', reason: 'bad-token', detail: expect.stringMatching(/^INVALID_ARGUMENT: /) },
    ]);
    expect(emulator.delivered()).toEqual([]);
  });

  it('marks a project the service account may not send for as a wrong sender', async () => {
    const config = emulator.config();
    const outcomes = await sendWith('fcm', [rendered('fcm', fcmToken(3))], { ...config, fcm: { ...config.fcm, projectId: 'someone-elses-project' } });
    expect(outcomes).toMatchObject([
      {
        kind: 'rejected',
        reason: 'credentials-refused',
        detail: expect.stringMatching(/^PERMISSION_DENIED: /),
        wrongSender: { fix: expect.stringContaining('fcm.projectId'), when: 'all' },
      },
    ]);
  });

  it('refuses a service account the token endpoint rejects, before sending anything', async () => {
    const config = emulator.config();
    const account = { ...emulator.credentials.serviceAccount, private_key: otherRsaKey() };
    const providers = new ProviderSet({ ...config, fcm: { ...config.fcm, serviceAccount: JSON.stringify(account) } });
    await expect(providers.get('fcm')).rejects.toThrow(/token endpoint rejected the service account .*invalid_grant/);
    await providers.close();
    expect(emulator.stats().requests.fcm).toBe(0);
  });
});

describe('APNs through @parse/node-apn', () => {
  it('sets push type, priority, collapse id, expiry and topic headers, and the aps payload', async () => {
    const before = Math.floor(Date.now() / 1000);
    const item = rendered('apns', apnsToken(1), { title: 'Sale', body: 'Now', group: 'sale-1', thread: 'promos', ttl: 600, badge: 2, image: 'https://cdn.example/i.png' });
    expect(await sendWith('apns', [item])).toEqual([{ kind: 'accepted', id: expect.any(String) }]);
    const [delivered] = emulator.delivered();
    expect(delivered.headers).toMatchObject({ 'apns-topic': 'com.example.pushcast', 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-collapse-id': 'sale-1' });
    const expiry = Number(delivered.headers['apns-expiration']);
    expect(expiry).toBeGreaterThanOrEqual(before + 600);
    expect(expiry).toBeLessThanOrEqual(before + 602);
    expect(delivered.message).toEqual({
      image: 'https://cdn.example/i.png',
      aps: { alert: { title: 'Sale', body: 'Now' }, badge: 2, 'thread-id': 'promos', 'mutable-content': 1 },
    });
  });

  it('sends a data message as a background push at priority 5', async () => {
    await sendWith('apns', [rendered('apns', apnsToken(2), { kind: 'data', data: { sync: '1' } })]);
    expect(emulator.delivered()[0]).toMatchObject({ headers: { 'apns-push-type': 'background', 'apns-priority': '5' }, message: { sync: '1', aps: { 'content-available': 1 } } });
  });

  it('classifies APNs reasons, and reads Retry-After that node-apn drops', async () => {
    const ids = ['unregistered', 'bad', 'other-app', 'throttled', 'unavailable', 'too-large', 'bad-cert'];
    const outcomes = await sendWith(
      'apns',
      ids.map((id) => rendered('apns', apnsToken(id))),
    );
    expect(outcomes).toMatchObject([
      { kind: 'invalid', reason: 'unregistered', detail: 'Unregistered' },
      { kind: 'invalid', reason: 'bad-token', detail: expect.stringMatching(/^BadDeviceToken: sent to the production environment/), wrongSender: { when: 'many' } },
      { kind: 'invalid', reason: 'other-sender', detail: 'DeviceTokenNotForTopic', wrongSender: { fix: expect.stringContaining('apns.topic'), when: 'all' } },
      { kind: 'retryable', reason: 'device-rate-limited', detail: 'TooManyRequests', retryAfterMs: 3000, because: 'answered' },
      { kind: 'retryable', reason: 'unavailable', detail: 'ServiceUnavailable', because: 'answered' },
      { kind: 'rejected', reason: 'payload-too-large', detail: 'PayloadTooLarge' },
      { kind: 'rejected', reason: 'credentials-refused', detail: 'BadCertificate', wrongSender: { fix: expect.stringContaining('apns.cert'), when: 'all' } },
    ]);
    // connectionRetryLimit 0: node-apn did not retry on its own (one retry layer: pushcast's).
    expect(emulator.stats().requests.apns).toBe(ids.length);
  });

  it('marks a signing key APNs does not know, and a topic the key may not use, as a wrong sender', async () => {
    const config = emulator.config();
    const wrongKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(await sendWith('apns', [rendered('apns', apnsToken(3))], { ...config, apns: { ...config.apns, key: wrongKey } })).toMatchObject([
      { kind: 'rejected', reason: 'credentials-refused', detail: 'InvalidProviderToken', wrongSender: { fix: expect.stringContaining('apns.keyId'), when: 'all' } },
    ]);
    const otherTopic = rendered('apns', apnsToken(4));
    (otherTopic.payload as { topic?: string }).topic = 'com.example.other';
    expect(await sendWith('apns', [otherTopic])).toMatchObject([
      { kind: 'rejected', reason: 'topic-refused', detail: 'TopicDisallowed', wrongSender: { fix: expect.stringContaining('apns.topic'), when: 'all' } },
    ]);
    expect(emulator.delivered()).toEqual([]);
  });
});

describe('Web Push through web-push', () => {
  it('encrypts with aes128gcm what the emulator decrypts back to the rendered message, with a VAPID JWT it verifies', async () => {
    const item = rendered('webpush', 'w1', { title: 'Sale', body: 'Привет 🎉', group: 'sale 2026', ttl: 120, priority: 'normal', data: { a: 'b' } });
    expect(await sendWith('webpush', [item])).toEqual([{ kind: 'accepted', id: expect.stringContaining('/m/') }]);
    const [delivered] = emulator.delivered();
    expect(delivered.token).toBe(emulatorSubscription('w1').endpoint);
    expect(delivered.message).toEqual(JSON.parse((item.payload as { plaintext: string }).plaintext));
    expect(delivered.message).toMatchObject({ title: 'Sale', body: 'Привет 🎉', data: { a: 'b' } });
    expect(delivered.headers).toEqual({ TTL: '120', Urgency: 'normal', Topic: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
  });

  it('classifies push service answers, honouring Retry-After', async () => {
    const ids = ['gone', 'not-found', 'too-large', 'throttled', 'down', 'unauthorized'];
    expect(
      await sendWith(
        'webpush',
        ids.map((id) => rendered('webpush', id)),
      ),
    ).toMatchObject([
      { kind: 'invalid', reason: 'unregistered', detail: expect.stringMatching(/^HTTP 410/) },
      { kind: 'invalid', reason: 'unregistered', detail: expect.stringMatching(/^HTTP 404/) },
      { kind: 'rejected', reason: 'payload-too-large' },
      { kind: 'retryable', reason: 'rate-limited', retryAfterMs: 2000, because: 'answered' },
      { kind: 'retryable', reason: 'unavailable', detail: expect.stringMatching(/^HTTP 503/), because: 'answered' },
      { kind: 'rejected', reason: 'credentials-refused', scope: 'https://fcm.googleapis.com', wrongSender: { fix: expect.stringContaining('VAPID JWT'), when: 'all' } },
    ]);
  });

  it('gets 403 from a push service for a subscription made with another VAPID key', async () => {
    const other = await import('web-push').then((module) => (module as unknown as { default: typeof import('web-push') }).default.generateVAPIDKeys());
    const config = emulator.config();
    const outcomes = await sendWith('webpush', [rendered('webpush', 'w2')], {
      ...config,
      webpush: { ...config.webpush, vapidPublicKey: other.publicKey, vapidPrivateKey: other.privateKey },
    });
    expect(outcomes).toMatchObject([{ kind: 'invalid', reason: 'other-sender', wrongSender: { fix: expect.stringContaining('VAPID key'), when: 'all' } }]);
  });

  it('refuses VAPID keys that are not a pair, or a localhost subject, before sending', async () => {
    const config = emulator.config();
    const other = ((await import('web-push')) as unknown as { default: typeof import('web-push') }).default.generateVAPIDKeys();
    await expect(sendWith('webpush', [], { ...config, webpush: { ...config.webpush, vapidPrivateKey: other.privateKey } })).rejects.toThrow(
      /does not belong to webpush.vapidPublicKey/,
    );
    await expect(sendWith('webpush', [], { ...config, webpush: { ...config.webpush, subject: 'mailto:me@localhost' } })).rejects.toBeInstanceOf(ConfigError);
    expect(emulator.stats().requests.webpush).toBe(0);
  });
});

function otherRsaKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

describe('the emulator at its limit of concurrent streams', () => {
  it('takes the request a client queued behind the limit once the client resets one of the streams that held it, as a provider does, on every Node.js', async () => {
    const stalling = await startEmulator({ stall: ['fcm'] });
    const client = http2.connect(stalling.url, { ca: stalling.ca });
    client.on('error', () => undefined);
    try {
      const limit = (await once(client, 'remoteSettings'))[0].maxConcurrentStreams as number;
      const held = Array.from({ length: limit }, (_, i) => {
        const stream = client.request({ ':method': 'POST', ':path': '/v1/projects/p/messages:send', 'content-type': 'application/json' });
        stream.on('error', () => undefined);
        stream.end(JSON.stringify({ message: { token: `held-${i}` } }));
        return stream;
      });
      await waitFor(() => stalling.stats().stalled === limit, 'every held request to arrive');
      const queued = client.request({ ':method': 'GET', ':path': '/_emulator/stats' });
      queued.end();
      const answer = new Promise<string | number>((resolve) => {
        queued.once('response', (headers) => resolve(Number(headers[':status'])));
        queued.once('error', (error: NodeJS.ErrnoException) => resolve(`${error.code} (RST_STREAM code ${queued.rstCode})`));
      });
      held[0].close(http2.constants.NGHTTP2_CANCEL); // its RST_STREAM and the queued HEADERS go out together
      expect(await answer).toBe(200);
    } finally {
      client.destroy();
      await stalling.close();
    }
  });
});

describe('a connection that finishes opening after its provider closed', () => {
  it('is closed at once, not left to keep the process alive (web push, whose next connection may be opening)', async () => {
    const sessions = new OpenSessions(1000);
    const connections = new PushServiceConnections({ ca: emulator.ca, redirect: new URL(emulator.url), timeoutMs: 5000, sessions });
    const port = Number(new URL(emulator.url).port);
    const toEmulator = () =>
      (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((handle) => (handle as { remotePort?: number }).remotePort === port);
    const before = toEmulator().length;
    // Opening: the provider closes before the TLS handshake is done.
    const opening = connections.service(new URL('https://fcm.googleapis.com/fcm/send/late'))!;
    sessions.close();
    await expect(opening).rejects.toThrow(/closed/);
    await waitFor(() => toEmulator().length === before, 'the socket to close');
    // A session handed over after the close is destroyed as it is added.
    const late = http2.connect(emulator.url, { ca: emulator.ca });
    sessions.add(late);
    expect(late.destroyed).toBe(true);
  });
});
