import type { PushcastConfig } from '../../config/config.js';
import type { BroadcastAnswer, Broadcaster } from '../broadcast.js';
import { openApnsChannelClient } from './apns-channel-client.js';
import { channelReasons, type ChannelFailure } from './manage-apns-channels.js';
import type { ApnsBroadcastPayload } from './payload.js';
import { clockOff } from './provider-token.js';

/**
 * One Live Activity update (or end) on an APNs broadcast channel: a POST to
 * /4/broadcasts/apps/{bundle id} with apns-channel-id and apns-push-type liveactivity (Apple,
 * "Sending broadcast push notification requests to APNs"), through node-apn 8.1's `broadcast`.
 * APNs answers once, with its request id, and then delivers to every device subscribed to the
 * channel: it says nothing per device.
 */
export async function createApnsBroadcaster(config: PushcastConfig, channelId: string, payload: ApnsBroadcastPayload, given: { bundleId?: string } = {}): Promise<Broadcaster> {
  const client = await openApnsChannelClient(config, given);
  return {
    provider: 'apns',
    target: { kind: 'apns-channel', value: channelId },
    async send(): Promise<BroadcastAnswer> {
      const note = new client.apn.Notification();
      note.rawPayload = payload.body;
      note.pushType = 'liveactivity';
      note.channelId = channelId;
      note.priority = payload.priority;
      // A TTL of 0 is "deliver now or never": apns-expiration 0, not the current time.
      if (payload.ttlSeconds !== undefined) note.expiry = payload.ttlSeconds === 0 ? 0 : Math.floor(Date.now() / 1000) + payload.ttlSeconds;
      await client.fresh();
      const result = await client.provider.broadcast(note, client.bundleId);
      const sent = result.sent[0] as { 'apns-request-id'?: string } | undefined;
      if (sent) return { kind: 'accepted', id: sent['apns-request-id'] ?? 'accepted' };
      const answer = classifyBroadcastFailure((result.failed[0] ?? {}) as ChannelFailure, client.observed(`/4/broadcasts/apps/${client.bundleId}`));
      const expiredYoung = client.expiredYoungMs();
      return answer.kind === 'refused' && answer.reason === 'ExpiredProviderToken' && expiredYoung !== undefined ? { ...answer, detail: clockOff(expiredYoung).fix } : answer;
    },
    close: () => client.close(),
  };
}

/** Apple's answers that refuse the sender (its key, its certificate, its app's capability), not this message. */
const senderFaults = new Set([
  'BadCertificate',
  'BadCertificateEnvironment',
  'Forbidden',
  'InvalidProviderToken',
  'MissingProviderToken',
  'ExpiredProviderToken',
  'FeatureNotEnabled',
]);

function classifyBroadcastFailure(failure: ChannelFailure, observed: { status?: number; written: boolean } | undefined): BroadcastAnswer {
  // node-apn puts "(timeout)" or the like where the status would be when none came; a status it meant to retry on a closing session is in `observed`.
  const status = /^\d{3}$/.test(String(failure.status)) ? Number(failure.status) : observed?.status;
  const reason = failure.response?.reason ?? failure.error?.message ?? 'no-answer';
  if (status === undefined) {
    // Never written: it never reached APNs. Written and unanswered: APNs may have taken it.
    return observed && !observed.written ? { kind: 'not-sent', reason, detail: 'the request never went out' } : { kind: 'uncertain', reason, detail: 'no answer came' };
  }
  const detail = `HTTP ${status}${channelReasons[reason] ? `: ${channelReasons[reason].fix}` : ''}`;
  // APNs failed on its side, mid-processing: the broadcast may have gone out.
  if (status === 500) return { kind: 'uncertain', reason, detail };
  return { kind: 'refused', reason, detail, stopsSender: status === 403 || senderFaults.has(reason) };
}
