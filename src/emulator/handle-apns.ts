import { createPublicKey, randomUUID } from 'node:crypto';
import { constants } from 'node:http2';
import { utf8Bytes } from '../message/limits.js';
import { compact, dropConnection, sendJson, type EmulatorContext, type Exchange } from './exchange.js';
import { verifyJwt } from './verify-jwt.js';

const devicePath = /^\/3\/device\/([^/?]+)$/;
const pushTypes = new Set(['alert', 'background', 'voip', 'complication', 'fileprovider', 'mdm', 'location', 'liveactivity', 'pushtotalk', 'widgets']);

/** POST /3/device/{token}, as api.push.apple.com answers it: status, apns-id, and {"reason"} on failure. */
export function handleApns(context: EmulatorContext, exchange: Exchange): void {
  const { state, credentials } = context;
  const headers = exchange.req.headers;
  const token = devicePath.exec(exchange.path)?.[1];
  const fail = (status: number, reason: string, extra: Record<string, unknown> = {}, responseHeaders: Record<string, string> = {}) => {
    state.reject('apns', reason, token ?? '', status);
    sendJson(exchange, status, { reason, ...extra }, { 'apns-id': requestId, ...responseHeaders });
  };
  const requestId = String(headers['apns-id'] ?? randomUUID());
  if (!token || exchange.req.method !== 'POST') return fail(404, 'BadPath');

  const authorization = String(headers.authorization ?? '');
  if (!authorization) return fail(403, 'MissingProviderToken');
  const jwt = /^bearer (.+)$/i.exec(authorization)?.[1] ?? '';
  const verified = verifyJwt(jwt, createPublicKey(credentials.apns.key), 'ES256');
  if ('error' in verified || verified.header.kid !== credentials.apns.keyId || verified.claims.iss !== credentials.apns.teamId) {
    return fail(403, 'InvalidProviderToken');
  }
  if (typeof verified.claims.iat !== 'number' || verified.claims.iat < Date.now() / 1000 - 3600) return fail(403, 'ExpiredProviderToken');

  const topic = headers['apns-topic'];
  if (!topic) return fail(400, 'MissingTopic');
  if (context.apnsTopics.size > 0 && !context.apnsTopics.has(String(topic))) return fail(400, 'TopicDisallowed');
  if (!/^[0-9a-f]{64}$/i.test(token)) return fail(400, 'BadDeviceToken');
  const pushType = headers['apns-push-type'] === undefined ? undefined : String(headers['apns-push-type']);
  if (pushType !== undefined && !pushTypes.has(pushType)) return fail(400, 'InvalidPushType');
  const priority = headers['apns-priority'] === undefined ? '10' : String(headers['apns-priority']);
  if (!['5', '10', '1'].includes(priority) || (pushType === 'background' && priority === '10')) return fail(400, 'BadPriority');
  const collapseId = headers['apns-collapse-id'] === undefined ? undefined : String(headers['apns-collapse-id']);
  if (collapseId !== undefined && utf8Bytes(collapseId) > 64) return fail(400, 'BadCollapseId');
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
  const retryAfter = { 'retry-after': String(state.behaviour.retryAfterSeconds) };
  if (fate === 'drop') {
    state.drop('apns', token);
    return dropConnection(exchange);
  }
  if (typeof fate === 'object') {
    const forcedHeaders: Record<string, string> = fate.forced.retryAfterSeconds !== undefined ? { 'retry-after': String(fate.forced.retryAfterSeconds) } : {};
    return fail(fate.forced.status, fate.forced.reason, fate.forced.status === 410 ? { timestamp: Date.now() } : {}, forcedHeaders);
  }
  switch (fate) {
    case 'unregistered':
      return fail(410, 'Unregistered', { timestamp: Date.now() });
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
  exchange.res.writeHead(constants.HTTP_STATUS_OK, { 'apns-id': requestId, 'apns-unique-id': randomUUID() });
  exchange.res.end();
}
