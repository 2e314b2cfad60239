import { describe, expect, it } from 'vitest';
import { checkApnsToken, checkFcmToken, checkWebPushJson, checkWebPushSubscription, isApnsTopic } from '../../src/audience/check-token.js';
import { allowOrigins, pushServiceOf } from '../../src/providers/webpush/allowed-origins.js';
import { apnsToken, emulatorSubscription, fcmToken } from '../helpers/tokens.js';

const { keys } = emulatorSubscription('checks');

describe('the offline token checks', () => {
  it.each([
    ['a real-shaped FCM token', fcmToken(1), { ok: true, token: fcmToken(1) }],
    ['one with spaces around it', `  ${fcmToken(1)} `, { ok: true, token: fcmToken(1) }],
    ['an empty one', ' ', { ok: false, reason: 'empty-token' }],
    ['one with a space inside', 'abc def:APA91bxxxxxxxxxxxxxxxxxx', { ok: false, reason: 'malformed-token' }],
    ['one too short to be real', 'abc:APA91b', { ok: false, reason: 'malformed-token', detail: expect.stringContaining('too short') }],
  ])('FCM: %s', (_what, raw, result) => {
    expect(checkFcmToken(raw)).toMatchObject(result);
  });

  it.each([
    ['64 hex digits', apnsToken(1), { ok: true, token: apnsToken(1) }],
    [
      'as Xcode prints it',
      `<${apnsToken(1)
        .toUpperCase()
        .replace(/(.{8})/g, '$1 ')
        .trim()}>`,
      { ok: true, token: apnsToken(1) },
    ],
    ['63 hex digits', apnsToken(1).slice(1), { ok: false, reason: 'malformed-token', detail: 'APNs token must be 64 hex digits, found 63 hex digits' }],
    ['an FCM token in the APNs column', fcmToken(1), { ok: false, reason: 'malformed-token', detail: expect.stringContaining('other than hex digits') }],
  ])('APNs: %s', (_what, raw, result) => {
    expect(checkApnsToken(raw)).toMatchObject(result);
  });

  it.each([
    ['a subscription as browsers give it', 'https://fcm.googleapis.com/fcm/send/abc', keys.p256dh, keys.auth, { ok: true }],
    ['plain http', 'http://fcm.googleapis.com/fcm/send/abc', keys.p256dh, keys.auth, { ok: false, detail: expect.stringContaining('https') }],
    // Read as one host by the allow-list and as localhost by the client: refused.
    ['a URL not written as it reads', 'https:/fcm.googleapis.com/x', keys.p256dh, keys.auth, { ok: false, detail: expect.stringContaining('not written the way a URL reads') }],
    ['credentials in the URL', 'https://user:pass@fcm.googleapis.com/x', keys.p256dh, keys.auth, { ok: false }],
    ['a p256dh that is no P-256 key', 'https://fcm.googleapis.com/fcm/send/abc', 'AAAA', keys.auth, { ok: false, detail: expect.stringContaining('p256dh') }],
    ['an auth secret of the wrong size', 'https://fcm.googleapis.com/fcm/send/abc', keys.p256dh, 'AAAA', { ok: false, detail: expect.stringContaining('auth') }],
  ])('web push: %s', (_what, endpoint, p256dh, auth, result) => {
    expect(checkWebPushSubscription(endpoint, p256dh, auth)).toMatchObject(result);
  });

  it.each([
    ['JSON that is not', '{endpoint', 'not valid JSON'],
    ['JSON without keys', '{"endpoint":"https://fcm.googleapis.com/x"}', 'needs endpoint, keys.p256dh and keys.auth'],
  ])('web push JSON: %s', (_what, raw, detail) => {
    expect(checkWebPushJson(raw)).toMatchObject({ ok: false, reason: 'malformed-token', detail: expect.stringContaining(detail) });
  });

  it.each([
    ['com.example.app', true],
    ['com.example.app.voip', true],
    ['app', false],
    ['com.example app', false],
  ])('an APNs topic %j is %s', (topic, valid) => {
    expect(isApnsTopic(topic)).toBe(valid);
  });
});

describe('the web push allow-list', () => {
  const allowed = allowOrigins(['https://push.example.net', 'https://*.push.example.org:8443']);
  it.each([
    ['https://fcm.googleapis.com/fcm/send/a', true],
    ['https://updates.push.services.mozilla.com/wpush/v2/a', true],
    ['https://web.push.apple.com/a', true],
    ['https://wns2-by3p.notify.windows.com/w/?token=a', true],
    ['https://push.example.net/sub/1', true],
    ['https://eu.push.example.org:8443/sub/1', true],
    ['https://push.example.org:8443/sub/1', false], // the wildcard takes subdomains only
    ['https://eu.push.example.org/sub/1', false], // another port
    ['https://10.0.0.5/push/1', false],
    ['https://169.254.169.254/latest/meta-data', false],
    ['https://fcm.googleapis.com.evil.example/a', false],
    ['http://fcm.googleapis.com/fcm/send/a', false],
    ['not a url', false],
  ])('%s: %s', (endpoint, ok) => {
    expect(allowed(endpoint)).toBe(ok);
  });

  it.each(['push.example.net', 'https://push.example.net/path', 'http://push.example.net', 'nope'])('refuses %j as an origin in the config', (origin) => {
    expect(() => allowOrigins([origin])).toThrow(/webpush\.allowedOrigins: .* is not an origin/);
  });

  it.each([
    ['https://fcm.googleapis.com/fcm/send/a', 'fcm'],
    ['https://updates.push.services.mozilla.com/wpush/v2/a', 'mozilla'],
    ['https://web.push.apple.com/a', 'apple'],
    ['https://db5p.notify.windows.com/w/?token=a', 'windows'],
    ['https://push.example.net/a', 'other'],
  ])('knows %s as %s', (endpoint, service) => {
    expect(pushServiceOf(endpoint)).toBe(service);
  });
});
