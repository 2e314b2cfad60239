import { randomUUID } from 'node:crypto';
import { decryptWebPush } from './decrypt-webpush.js';
import { compact, dropConnection, respond, retryAfterHeader, sendJson, sendRealAnswer, type EmulatorContext, type Exchange } from './exchange.js';
import { webPushRefusals, webPushService } from './real-answers.js';
import { subscriberKeys, subscriptionIdOf } from './subscriber-keys.js';
import { p256PublicKey, verifyJwt } from './verify-jwt.js';

const urgencies = new Set(['very-low', 'low', 'normal', 'high']);
const topicPattern = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * A push service (RFC 8030) that checks VAPID (RFC 8292) and, playing the browser too,
 * decrypts the aes128gcm message (RFC 8291) with the keys it derives for the subscription.
 */
export function handleWebPush(context: EmulatorContext, exchange: Exchange): void {
  const { state } = context;
  const headers = exchange.req.headers;
  const endpoint = `https://${exchange.host}${exchange.path}`;
  const fail = (status: number, reason: string, responseHeaders: Record<string, string> = {}) => {
    state.reject('webpush', reason, endpoint ?? '', status);
    sendJson(exchange, status, { reason }, responseHeaders);
  };
  // A refused VAPID JWT, or a key the subscription was not made with: as that push service says it.
  const refuse = (reason: string, kind: 'badJwt' | 'keyMismatch') => {
    const answer = webPushRefusals[webPushService(exchange.host)][kind];
    state.reject('webpush', reason, endpoint, answer.status);
    sendRealAnswer(exchange, answer);
  };
  if (exchange.req.method !== 'POST') return fail(405, 'method-not-allowed');

  const vapid = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)/.exec(String(headers.authorization ?? ''));
  if (!vapid) return refuse('missing-vapid', 'badJwt');
  const publicKey = Buffer.from(vapid[2], 'base64url');
  if (publicKey.length !== 65) return refuse('bad-vapid-key', 'badJwt');
  // A sender that caches its VAPID header sends the same one again: verify each header once.
  const header = `${vapid[1]} ${vapid[2]}`;
  const verified = context.verifiedJwts.get(header) ?? verifyJwt(vapid[1], p256PublicKey(publicKey), 'ES256');
  if ('error' in verified) return refuse('bad-vapid-signature', 'badJwt');
  context.verifiedJwts.remember(header, verified);
  const now = Date.now() / 1000;
  const { aud, exp, sub } = verified.claims;
  if (aud !== `https://${exchange.host}`) return refuse('vapid-audience-mismatch', 'badJwt');
  if (typeof exp !== 'number' || exp <= now || exp > now + 24 * 3600) return refuse('vapid-expired', 'badJwt');
  if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub)) return refuse('vapid-bad-subject', 'badJwt');
  // Apple refuses a subject it cannot resolve (web-push-libs/web-push#947); the others take it.
  if (webPushService(exchange.host) === 'apple' && /localhost|\.(local|invalid)$/i.test(sub)) return refuse('vapid-unresolvable-subject', 'badJwt');
  if (context.applicationServerKey && vapid[2] !== context.applicationServerKey) return refuse('vapid-key-mismatch', 'keyMismatch');

  const ttl = headers.ttl === undefined ? undefined : String(headers.ttl);
  if (ttl === undefined || !/^\d+$/.test(ttl)) return fail(400, 'missing-ttl');
  if (headers['content-encoding'] !== 'aes128gcm') return fail(415, 'unsupported-content-encoding');
  const urgency = headers.urgency === undefined ? undefined : String(headers.urgency);
  if (urgency !== undefined && !urgencies.has(urgency)) return fail(400, 'bad-urgency');
  const topic = headers.topic === undefined ? undefined : String(headers.topic);
  if (topic !== undefined && !topicPattern.test(topic)) return fail(400, 'bad-topic');
  if (exchange.body.length > 4096) return fail(413, 'payload-too-large');

  const { fate, attempt } = state.fate('webpush', endpoint);
  const retryAfter = retryAfterHeader(state.behaviour.retryAfterSeconds);
  if (fate === 'drop') {
    state.drop('webpush', endpoint);
    return dropConnection(context, exchange);
  }
  if (typeof fate === 'object') {
    return fail(fate.forced.status, fate.forced.reason, retryAfterHeader(fate.forced.retryAfterSeconds));
  }
  switch (fate) {
    case 'unregistered':
    case 'bad-device-token':
      return fail(410, 'unsubscribed');
    case 'unauthorized':
      return refuse('unauthorized', 'badJwt');
    case 'late':
      exchange.delayMs += state.behaviour.lateMs;
      break;
    case 'too-many-requests':
      return fail(429, 'too-many-requests', retryAfter);
    case 'unavailable':
      return fail(503, 'unavailable', retryAfter);
  }

  const message = state.keepsMessages ? readAsTheBrowser(endpoint, exchange.body) : undefined;
  state.accept({ provider: 'webpush', token: endpoint, attempt, headers: compact({ TTL: ttl, Urgency: urgency, Topic: topic }), message });
  respond(exchange, 201, { location: `https://${exchange.host}/m/${randomUUID()}` });
}

/**
 * The message as the subscription's browser reads it. A push service never reads it (only the
 * browser holds the keys): it is decrypted only when the emulator keeps what it accepted (tests,
 * --log). Unread, a web push costs the emulator about half the CPU (20,000 messages: 3.6 s, not 7.1).
 */
function readAsTheBrowser(endpoint: string, body: Buffer): unknown {
  try {
    const { ecdh, auth } = subscriberKeys(subscriptionIdOf(endpoint));
    const plaintext = decryptWebPush(body, ecdh, auth);
    try {
      return JSON.parse(plaintext);
    } catch {
      return plaintext;
    }
  } catch (error) {
    // Not a subscription the emulator made: a real push service cannot read it either, so it is accepted unread.
    return { undecryptable: (error as Error).message };
  }
}
