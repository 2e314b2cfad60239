import { randomBytes, randomUUID } from 'node:crypto';
import { compact, respond, sendJson, type EmulatorContext, type Exchange } from './exchange.js';
import { authFailure } from './handle-apns.js';

/** One broadcast APNs took for a channel: it delivers to the channel's subscribers afterwards, on its side. */
export interface ApnsBroadcast {
  bundleId: string;
  channelId: string;
  /** The APNs headers the request carried. */
  headers: Record<string, string>;
  payload: unknown;
  requestId: string;
}

interface Channel {
  bundleId: string;
  messageStoragePolicy: number;
}

/**
 * What the emulated APNs keeps of broadcast channels (iOS 18): the channels of each app, made and
 * deleted through the channel management API, and every broadcast it took.
 */
export class ApnsChannels {
  readonly broadcasts: ApnsBroadcast[] = [];
  private readonly channels = new Map<string, Channel>();

  /** The channel ids of an app, in the order they were made. */
  of(bundleId: string): string[] {
    return [...this.channels].filter(([, channel]) => channel.bundleId === bundleId).map(([id]) => id);
  }

  reset(): void {
    this.broadcasts.length = 0;
    this.channels.clear();
  }

  create(bundleId: string, messageStoragePolicy: number): string | undefined {
    if (this.of(bundleId).length >= channelsPerApp) return undefined;
    // Apple's ids are base64; their length is Apple's own, this one is the emulator's.
    const id = randomBytes(16).toString('base64');
    this.channels.set(id, { bundleId, messageStoragePolicy });
    return id;
  }

  find(bundleId: string, id: string): Channel | undefined {
    const channel = this.channels.get(id);
    return channel?.bundleId === bundleId ? channel : undefined;
  }

  delete(id: string): void {
    this.channels.delete(id);
  }
}

/** "you can maintain up to 10,000 channels for your app in the development and production environment, respectively" (Apple). */
const channelsPerApp = 10_000;
const channelsPath = /^\/1\/apps\/([^/]+)\/(channels|all-channels)$/;
const broadcastPath = /^\/4\/broadcasts\/apps\/([^/]+)$/;
const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** The emulator keeps to pushcast's own limit of a Live Activity payload: Apple's page on broadcasts names none the emulator could check. */
const payloadBytes = 4096;

/** Whether a path is one of APNs's channel management or broadcast paths. */
export function isApnsChannelPath(path: string): boolean {
  return path.startsWith('/1/apps/') || path.startsWith('/4/broadcasts/');
}

/**
 * Apple's channel management API (api-manage-broadcast.push.apple.com; "Sending channel
 * management requests to APNs") and its broadcasts (POST /4/broadcasts/apps/{bundle id};
 * "Sending broadcast push notification requests to APNs"), answered in Apple's order: the
 * credentials, then the channel, then the request's headers and payload. Every failure is
 * `{"reason"}` with the apns-request-id (fixtures/provider-answers/apns-channels.json).
 */
export function handleApnsChannels(context: EmulatorContext, exchange: Exchange): void {
  const headers = exchange.req.headers;
  const requestId = String(headers['apns-request-id'] ?? randomUUID());
  const fail = (status: number, reason: string) => sendJson(exchange, status, { reason }, { 'apns-request-id': requestId });
  const managed = channelsPath.exec(exchange.path);
  const broadcast = broadcastPath.exec(exchange.path);
  if (!managed && !broadcast) return fail(404, 'BadPath');
  const method = exchange.req.method;
  const allowed = broadcast ? method === 'POST' : managed![2] === 'all-channels' ? method === 'GET' : ['POST', 'GET', 'DELETE'].includes(method);
  if (!allowed) return fail(405, 'MethodNotAllowed');

  const refused = authFailure(exchange, context);
  if (refused) return fail(refused.status, refused.reason);
  const bundleId = decodeURIComponent((managed ?? broadcast)![1]);
  const channels = context.apnsChannels;

  if (managed?.[2] === 'all-channels') return sendJson(exchange, 200, { channels: channels.of(bundleId) }, { 'apns-request-id': requestId });
  if (managed && method === 'POST') {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(exchange.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail(400, 'PayloadEmpty');
    }
    // Apple's value is "LiveActivity"; node-apn's own default writes "liveactivity": either is taken.
    if (String(body['push-type']).toLowerCase() !== 'liveactivity') return fail(400, 'InvalidPushType');
    const policy = body['message-storage-policy'];
    // Apple documents 0 and 1 and no reason for another value: this one is the emulator's word.
    if (policy !== 0 && policy !== 1) return fail(400, 'BadMessageStoragePolicy');
    const id = channels.create(bundleId, policy);
    if (!id) return fail(400, 'CannotCreateChannelConfig');
    return respond(exchange, 201, { 'apns-request-id': requestId, 'apns-channel-id': id });
  }

  const channelId = headers['apns-channel-id'] === undefined ? undefined : String(headers['apns-channel-id']);
  if (channelId === undefined) return fail(400, 'MissingChannelId');
  if (!base64.test(channelId)) return fail(400, 'BadChannelId');
  const channel = channels.find(bundleId, channelId);
  if (!channel) return fail(400, 'ChannelNotRegistered');
  if (managed && method === 'GET') {
    return sendJson(
      exchange,
      200,
      { 'message-storage-policy': channel.messageStoragePolicy, 'push-type': 'LiveActivity' },
      { 'apns-request-id': requestId, 'apns-channel-id': channelId },
    );
  }
  if (managed) {
    channels.delete(channelId);
    return respond(exchange, 204, { 'apns-request-id': requestId });
  }

  const pushType = headers['apns-push-type'] === undefined ? undefined : String(headers['apns-push-type']);
  if (pushType !== 'liveactivity') return fail(400, 'InvalidPushType');
  const priority = headers['apns-priority'] === undefined ? '10' : String(headers['apns-priority']);
  if (!['1', '5', '10'].includes(priority)) return fail(400, 'BadPriority');
  const expiration = headers['apns-expiration'] === undefined ? undefined : String(headers['apns-expiration']);
  if (expiration !== undefined && !/^\d+$/.test(expiration)) return fail(400, 'BadExpirationDate');
  if (exchange.body.length === 0) return fail(400, 'PayloadEmpty');
  if (exchange.body.length > payloadBytes) return fail(413, 'PayloadTooLarge');
  let payload: unknown;
  try {
    payload = JSON.parse(exchange.body.toString('utf8'));
  } catch {
    return fail(400, 'PayloadEmpty');
  }
  channels.broadcasts.push({
    bundleId,
    channelId,
    headers: compact({ 'apns-push-type': pushType, 'apns-priority': priority, 'apns-expiration': expiration, 'apns-topic': headers['apns-topic'] as string | undefined }),
    payload,
    requestId,
  });
  respond(exchange, 200, { 'apns-request-id': requestId });
}
