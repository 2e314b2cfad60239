import { randomUUID } from 'node:crypto';
import { constants, type ServerHttp2Session } from 'node:http2';
import { bytesOf } from './emulated.js';
import { apnsStreamLimit, compact, connectionStreamLimit, dropConnection, respond, retryAfterHeader, sendJson, type EmulatorContext, type Exchange } from './exchange.js';
import type { Behaviour } from './fate.js';
import { transportOf } from './resets-first.js';
import { verifyJwt } from './verify-jwt.js';

const devicePath = /^\/3\/device\/([^/?]+)$/;
const pushTypes = new Set(['alert', 'background', 'voip', 'complication', 'fileprovider', 'mdm', 'location', 'liveactivity', 'pushtotalk', 'widgets']);
/** Apple: "If you set this push type [liveactivity], the apns-topic header field must use your app's bundle ID with .push-type.liveactivity appended to the end." */
const liveActivitySuffix = '.push-type.liveactivity';
/** A device token is 32 bytes; ActivityKit's update and push-to-start tokens are longer (80 bytes in the field): Apple fixes no size. */
const deviceTokenPattern = /^[0-9a-f]{64}$/i;
const activityTokenPattern = /^(?:[0-9a-f]{2}){32,}$/i;

/** POST /3/device/{token}, as api.push.apple.com answers it: status, apns-id, and {"reason"} on failure. */
export function handleApns(context: EmulatorContext, exchange: Exchange): void {
  const { state } = context;
  const headers = exchange.req.headers;
  const token = devicePath.exec(exchange.path)?.[1];
  const fail = (status: number, reason: string, extra: Record<string, unknown> = {}, responseHeaders: Record<string, string> = {}) => {
    state.reject('apns', reason, token ?? '', status);
    limitStreams(state.behaviour, limit, 'rejected');
    sendJson(exchange, status, { reason, ...extra }, { 'apns-id': requestId, ...responseHeaders });
  };
  const requestId = String(headers['apns-id'] ?? randomUUID());
  const limit = streamLimitOf(exchange);
  if (!token || exchange.req.method !== 'POST') return fail(404, 'BadPath');

  const refused = authFailure(exchange, context);
  if (refused) return fail(refused.status, refused.reason);

  const topic = headers['apns-topic'];
  if (!topic) return fail(400, 'MissingTopic');
  const pushType = headers['apns-push-type'] === undefined ? undefined : String(headers['apns-push-type']);
  const liveActivity = pushType === 'liveactivity';
  // A Live Activity's topic is its own: the bundle id's other topics do not take it, nor it other pushes.
  if (liveActivity !== String(topic).endsWith(liveActivitySuffix)) return fail(400, 'TopicDisallowed');
  const bundle = liveActivity ? String(topic).slice(0, -liveActivitySuffix.length) : String(topic);
  if (context.apnsTopics.size > 0 && !context.apnsTopics.has(bundle)) return fail(400, 'TopicDisallowed');
  if (!(liveActivity ? activityTokenPattern : deviceTokenPattern).test(token)) return fail(400, 'BadDeviceToken');
  if (pushType !== undefined && !pushTypes.has(pushType)) return fail(400, 'InvalidPushType');
  const priority = headers['apns-priority'] === undefined ? '10' : String(headers['apns-priority']);
  if (!['5', '10', '1'].includes(priority) || (pushType === 'background' && priority === '10')) return fail(400, 'BadPriority');
  const collapseId = headers['apns-collapse-id'] === undefined ? undefined : String(headers['apns-collapse-id']);
  if (collapseId !== undefined && bytesOf(collapseId) > 64) return fail(400, 'BadCollapseId');
  const expiration = headers['apns-expiration'] === undefined ? undefined : String(headers['apns-expiration']);
  if (expiration !== undefined && !/^\d+$/.test(expiration)) return fail(400, 'BadExpirationDate');
  if (exchange.body.length === 0) return fail(400, 'PayloadEmpty');
  if (exchange.body.length > 4096) return fail(413, 'PayloadTooLarge');
  let payload: unknown;
  try {
    payload = JSON.parse(exchange.body.toString('utf8'));
  } catch {
    return fail(400, 'PayloadEmpty');
  }

  const { fate, attempt } = state.fate('apns', token);
  const retryAfter = retryAfterHeader(state.behaviour.retryAfterSeconds);
  if (fate === 'drop') {
    state.drop('apns', token);
    return dropConnection(context, exchange);
  }
  if (typeof fate === 'object') {
    return fail(fate.forced.status, fate.forced.reason, fate.forced.status === 410 ? { timestamp: Date.now() } : {}, retryAfterHeader(fate.forced.retryAfterSeconds));
  }
  switch (fate) {
    case 'unregistered':
      return fail(410, 'Unregistered', { timestamp: Date.now() });
    case 'unauthorized':
      return fail(403, 'InvalidProviderToken');
    case 'late':
      exchange.delayMs += state.behaviour.lateMs;
      break;
    case 'bad-device-token':
      return fail(400, 'BadDeviceToken');
    case 'too-many-requests':
      return fail(429, 'TooManyRequests', {}, retryAfter);
    case 'unavailable':
      return fail(503, 'ServiceUnavailable', {}, retryAfter);
  }
  state.accept({
    provider: 'apns',
    token,
    attempt,
    headers: compact({
      'apns-topic': String(topic),
      'apns-push-type': pushType,
      'apns-priority': priority,
      'apns-collapse-id': collapseId,
      'apns-expiration': expiration,
    }),
    message: payload,
  });
  limitStreams(state.behaviour, limit, 'accepted');
  respond(exchange, constants.HTTP_STATUS_OK, { 'apns-id': requestId, 'apns-unique-id': randomUUID() });
}

/** An APNs connection's SETTINGS_MAX_CONCURRENT_STREAMS: the last sent, and what the last verdict calls for. */
interface StreamLimit {
  session: ServerHttp2Session;
  sent: number;
  wanted: number;
  awaitingAck: boolean;
}
const streamLimits = new WeakMap<object, StreamLimit>();

/** An APNs connection's limit, raised to APNs' own on the connection's first APNs request. */
function streamLimitOf(exchange: Exchange): StreamLimit | undefined {
  const session = exchange.session as ServerHttp2Session | undefined;
  if (!session || exchange.req.httpVersion !== '2.0') return undefined;
  let limit = streamLimits.get(session);
  if (!limit) {
    streamLimits.set(session, (limit = { session, sent: connectionStreamLimit, wanted: apnsStreamLimit, awaitingAck: false }));
    sendLimit(limit);
  }
  return limit;
}

/**
 * APNs lowers a connection's concurrent streams to 1 when it rejects a notification and raises
 * them when it accepts one (openradar 27870881; pushy #732: "throttles the max concurrent streams
 * extremely aggressively (i.e. down to just 1)"): a client's further requests wait, unsent, in its
 * own queue, and a client that times them out from when it made them abandons requests never sent.
 */
function limitStreams(behaviour: Behaviour, limit: StreamLimit | undefined, verdict: 'accepted' | 'rejected'): void {
  if (!behaviour.apnsThrottle || !limit) return;
  limit.wanted = verdict === 'accepted' ? apnsStreamLimit : 1;
  sendLimit(limit);
}

/** One SETTINGS frame in flight at a time: Node refuses more than 10 unacknowledged, and verdicts flip faster than that. */
function sendLimit(limit: StreamLimit): void {
  const { session } = limit;
  if (limit.awaitingAck || limit.wanted === limit.sent || session.closed || session.destroyed) return;
  limit.awaitingAck = true;
  limit.sent = limit.wanted;
  session.settings({ maxConcurrentStreams: limit.sent }, () => {
    limit.awaitingAck = false;
    sendLimit(limit);
  });
}

/**
 * Token auth (a JWT signed with the .p8 key) or certificate auth (the TLS session's client
 * certificate, when no authorization header is sent), as APNs judges them: the refusal, or nothing.
 */
export function authFailure(
  exchange: Exchange,
  { state, credentials, apnsPublicKey, verifiedJwts, providerTokens }: EmulatorContext,
): { status: number; reason: string } | undefined {
  const authorization = String(exchange.req.headers.authorization ?? '');
  if (!authorization) {
    const socket = transportOf(exchange.req.stream?.session);
    const presented = socket?.getPeerCertificate?.()?.fingerprint256;
    if (!presented) return { status: 403, reason: 'MissingProviderToken' };
    return presented === credentials.apnsCertificate.fingerprint256 ? undefined : { status: 403, reason: 'BadCertificate' };
  }
  const jwt = /^bearer (.+)$/i.exec(authorization)?.[1] ?? '';
  const verified = verifiedJwts.get(jwt) ?? verifyJwt(jwt, apnsPublicKey, 'ES256');
  if ('error' in verified || verified.header.kid !== credentials.apns.keyId || verified.claims.iss !== credentials.apns.teamId) {
    return { status: 403, reason: 'InvalidProviderToken' };
  }
  // Clients reuse one token for up to an hour: verify it once, as APNs itself caches them.
  verifiedJwts.remember(jwt, verified);
  state.sawProviderToken(jwt);
  if (typeof verified.claims.iat !== 'number') return { status: 403, reason: 'ExpiredProviderToken' };
  return providerTokens.judge(jwt, verified.claims.iat, exchange.session);
}
