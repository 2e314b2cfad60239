import { ConfigError, InputError } from '../../errors.js';
import type { ApnsChannelClient } from './apns-channel-client.js';

/**
 * APNs broadcast channels (iOS 18): created, listed, read and deleted through Apple's channel
 * management API ("Sending channel management requests to APNs"), with node-apn 8.1's
 * `manageChannels`. A channel is an app's, in one environment; APNs keeps up to 10,000 an app and
 * environment, and the channel lives until it is deleted, subscribers or not.
 */

/** `message-storage-policy`: 0, APNs keeps no message for a device that is offline; 1, it keeps the latest. */
export type MessageStoragePolicy = 0 | 1;

export interface ApnsChannelInfo {
  id: string;
  messageStoragePolicy?: number;
  pushType?: string;
}

/**
 * What each of Apple's channel reasons means for the person running pushcast ("Handling error
 * responses from Apple Push Notification service"; fixtures/provider-answers/apns-channels.json).
 * `input`: the channel id given is wrong (exit 1); otherwise the app, the key or the service (exit 2).
 */
export const channelReasons: Record<string, { fix: string; input?: boolean }> = {
  MissingChannelId: { fix: "APNs got no apns-channel-id header: this is pushcast's fault, please report it" },
  BadChannelId: { fix: 'that is not a channel id as APNs issues them (base64): copy it as `pushcast apns channels create` or `list` printed it', input: true },
  ChannelNotRegistered: {
    fix: 'the app has no such channel in this APNs environment (apns.environment): `pushcast apns channels list` shows the ones it has; a channel of the other environment is not found here',
    input: true,
  },
  CannotCreateChannelConfig: { fix: 'the app has as many channels as APNs allows (10,000 an environment): delete those whose event is over (`pushcast apns channels delete`)' },
  InvalidPushType: { fix: 'APNs takes LiveActivity channels and liveactivity broadcasts only' },
  FeatureNotEnabled: { fix: 'broadcast push is not enabled for this app: turn on the Broadcast capability of its App ID in the Apple developer account' },
  BadPath: { fix: 'the endpoint answered BadPath: check apns.channelsEndpoint (channel management) and apns.endpoint (broadcasts)' },
};

/** A node-apn failure of a channel request: APNs's `{status, response: {reason}}`, or `{error}` with no answer. */
export interface ChannelFailure {
  status?: number | string;
  response?: { reason?: string };
  error?: { message?: string };
}

/** A new channel for the app's Live Activities: its id, which the app subscribes its activities with. */
export async function createApnsChannel(client: ApnsChannelClient, policy: MessageStoragePolicy): Promise<string> {
  const note = new client.apn.Notification();
  // Apple's body: the storage policy and "push-type": "LiveActivity", the only type channels take.
  note.rawPayload = { 'message-storage-policy': policy, 'push-type': 'LiveActivity' };
  const answer = await request(client, note, 'create');
  const id = answer['apns-channel-id'];
  if (typeof id !== 'string' || id === '')
    throw new ConfigError('APNs answered the channel creation without an apns-channel-id: run `pushcast apns channels list` to see whether it was made');
  return id;
}

/** Every channel id of the app in this environment. */
export async function listApnsChannels(client: ApnsChannelClient): Promise<string[]> {
  const answer = await request(client, new client.apn.Notification(), 'readAll');
  return Array.isArray(answer.channels) ? answer.channels.map(String) : [];
}

/** One channel's settings, as APNs keeps them. */
export async function readApnsChannel(client: ApnsChannelClient, id: string): Promise<ApnsChannelInfo> {
  const answer = await request(client, channelNote(client, id), 'read');
  const policy = answer['message-storage-policy'];
  const pushType = answer['push-type'];
  return { id, ...(typeof policy === 'number' ? { messageStoragePolicy: policy } : {}), ...(typeof pushType === 'string' ? { pushType } : {}) };
}

export async function deleteApnsChannel(client: ApnsChannelClient, id: string): Promise<void> {
  await request(client, channelNote(client, id), 'delete');
}

function channelNote(client: ApnsChannelClient, id: string): InstanceType<ApnsChannelClient['apn']['Notification']> {
  const note = new client.apn.Notification();
  note.channelId = id;
  return note;
}

type Action = 'create' | 'read' | 'readAll' | 'delete';

async function request(client: ApnsChannelClient, note: InstanceType<ApnsChannelClient['apn']['Notification']>, action: Action): Promise<Record<string, unknown>> {
  await client.fresh();
  const result = await client.provider.manageChannels(note, client.bundleId, action);
  const sent = result.sent[0] as unknown as Record<string, unknown> | undefined;
  if (sent) return sent;
  throw channelError((result.failed[0] ?? {}) as ChannelFailure, action, client.environment);
}

const doing: Record<Action, string> = { create: 'create the channel', read: 'read the channel', readAll: "list the app's channels", delete: 'delete the channel' };

function channelError(failure: ChannelFailure, action: Action, environment: string): Error {
  const reason = failure.response?.reason ?? failure.error?.message ?? 'no answer';
  const status = /^\d{3}$/.test(String(failure.status)) ? ` (HTTP ${String(failure.status)})` : '';
  const known = channelReasons[reason];
  const fix =
    known?.fix ??
    (status === ''
      ? 'check the network and apns.channelsEndpoint'
      : String(failure.status).startsWith('5')
        ? 'APNs failed: try again later'
        : 'see Apple\'s "Handling error responses from APNs"');
  const after = action === 'create' && status === '' ? '; a channel may have been made all the same: `pushcast apns channels list` shows it' : '';
  const text = `APNs (${environment}) did not ${doing[action]}: ${reason}${status}: ${fix}${after}`;
  return known?.input ? new InputError(text) : new ConfigError(text);
}
