import type { ProviderName, SkipReason, WebPushSubscription } from '../domain/recipient.js';

/** A token that passed the offline format checks, in its normal form. */
export type CheckedToken = { ok: true; token: string; subscription?: WebPushSubscription } | { ok: false; reason: SkipReason; detail: string };

// FCM registration tokens are ~150-170 characters of base64url plus ':'; short or spaced ones are typos.
const fcmTokenPattern = /^[A-Za-z0-9_\-:.]+$/;
const fcmMinLength = 20;
const apnsTokenPattern = /^[0-9a-f]{64}$/;
/** ActivityKit tokens are longer than device tokens (80 bytes in the field) and Apple gives them no fixed size: whole bytes, from 32 to 256. */
const liveActivityTokenPattern = /^(?:[0-9a-f]{2}){32,256}$/;
const base64urlPattern = /^[A-Za-z0-9_-]+={0,2}$/;

/** An APNs topic: the app's bundle id (reverse DNS, ASCII), possibly with a push type suffix such as .voip. */
export function isApnsTopic(topic: string): boolean {
  return /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(topic);
}

export function checkFcmToken(raw: string): CheckedToken {
  const token = raw.trim();
  if (token === '') return { ok: false, reason: 'empty-token', detail: 'token is empty' };
  if (!fcmTokenPattern.test(token)) {
    return { ok: false, reason: 'malformed-token', detail: 'FCM token has characters other than letters, digits, -, _, : and .' };
  }
  if (token.length < fcmMinLength) {
    return { ok: false, reason: 'malformed-token', detail: `FCM token is ${token.length} characters, too short to be real` };
  }
  return { ok: true, token };
}

/**
 * APNs device tokens are 32 bytes written as 64 hex digits; spaces and <> (as Xcode prints them) are
 * dropped. `liveActivity`: an ActivityKit token (update or push-to-start), whole bytes of hex.
 */
export function checkApnsToken(raw: string, liveActivity = false): CheckedToken {
  const token = raw.replace(/[\s<>]/g, '').toLowerCase();
  if (token === '') return { ok: false, reason: 'empty-token', detail: 'token is empty' };
  if (!(liveActivity ? liveActivityTokenPattern : apnsTokenPattern).test(token)) {
    const what = /^[0-9a-f]*$/.test(token) ? `${token.length} hex digits` : 'characters other than hex digits';
    const expected = liveActivity ? 'an even count of 64 to 512 hex digits' : '64 hex digits';
    return { ok: false, reason: 'malformed-token', detail: `APNs ${liveActivity ? 'Live Activity ' : ''}token must be ${expected}, found ${what}` };
  }
  return { ok: true, token };
}

export function checkWebPushSubscription(endpoint: string, p256dh: string, auth: string): CheckedToken {
  endpoint = endpoint.trim();
  if (endpoint === '') return { ok: false, reason: 'empty-token', detail: 'web push endpoint is empty' };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, reason: 'malformed-token', detail: 'web push endpoint is not a URL' };
  }
  if (url.protocol !== 'https:') {
    return { ok: false, reason: 'malformed-token', detail: `web push endpoint must be an https URL, not ${url.protocol}` };
  }
  // The allow-list checks what the WHATWG parser reads, and web-push connects to what Node's legacy
  // url.parse() reads: "https:/fcm.googleapis.com/x" is fcm.googleapis.com to one and localhost to
  // the other. Browsers hand out endpoints already in normal form, so anything else is refused.
  if (url.href !== endpoint || url.username !== '' || url.password !== '') {
    return {
      ok: false,
      reason: 'malformed-token',
      detail: `web push endpoint is not written the way a URL reads (it reads as ${url.href}): refused, since the request could go elsewhere than it says`,
    };
  }
  const p256dhBytes = decodeBase64url(p256dh.trim());
  if (!p256dhBytes || p256dhBytes.length !== 65 || p256dhBytes[0] !== 0x04) {
    return { ok: false, reason: 'malformed-token', detail: 'p256dh must be a base64url P-256 public key (65 bytes)' };
  }
  const authBytes = decodeBase64url(auth.trim());
  if (!authBytes || authBytes.length !== 16) {
    return { ok: false, reason: 'malformed-token', detail: 'auth must be a base64url 16-byte secret' };
  }
  return { ok: true, token: endpoint, subscription: { endpoint, keys: { p256dh: p256dh.trim(), auth: auth.trim() } } };
}

/** A subscription given as JSON (`PushSubscription.toJSON()`), in a `subscription` or `token` column. */
export function checkWebPushJson(raw: string): CheckedToken {
  if (raw.trim() === '') return { ok: false, reason: 'empty-token', detail: 'subscription is empty' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'malformed-token', detail: 'subscription is not valid JSON' };
  }
  const sub = parsed as Partial<WebPushSubscription> | null;
  if (typeof sub?.endpoint !== 'string' || typeof sub.keys?.p256dh !== 'string' || typeof sub.keys?.auth !== 'string') {
    return { ok: false, reason: 'malformed-token', detail: 'subscription JSON needs endpoint, keys.p256dh and keys.auth' };
  }
  return checkWebPushSubscription(sub.endpoint, sub.keys.p256dh, sub.keys.auth);
}

export function checkToken(provider: ProviderName, raw: string): CheckedToken {
  if (provider === 'fcm') return checkFcmToken(raw);
  if (provider === 'apns') return checkApnsToken(raw);
  return checkWebPushJson(raw);
}

function decodeBase64url(text: string): Buffer | undefined {
  if (!base64urlPattern.test(text)) return undefined;
  return Buffer.from(text, 'base64url');
}
