import type { ProviderName } from '../domain/recipient.js';

/**
 * One request that reaches many devices: a message to an FCM topic or condition, or a Live
 * Activity update on an APNs broadcast channel. The provider fans it out on its side and says
 * nothing per device, so its only outcome is the request's own.
 */
export interface BroadcastTarget {
  kind: 'topic' | 'condition' | 'apns-channel';
  /** The topic's name, the condition's text, or the channel's id, as the provider receives it. */
  value: string;
}

/**
 * What became of the one request: `accepted` (the provider's message id), `refused` (the
 * provider answered no: nothing went out, `stopsSender` when the credentials are the fault),
 * `not-sent` (it never reached the provider), `uncertain` (it may have reached the provider and
 * got no answer: sending it again could push it twice).
 */
export type BroadcastAnswer =
  | { kind: 'accepted'; id: string }
  | { kind: 'refused'; reason: string; detail: string; stopsSender?: boolean }
  | { kind: 'not-sent'; reason: string; detail: string }
  | { kind: 'uncertain'; reason: string; detail: string };

/** A provider's client for one broadcast, its message built already. */
export interface Broadcaster {
  readonly provider: ProviderName;
  readonly target: BroadcastTarget;
  send(): Promise<BroadcastAnswer>;
  close(): Promise<void>;
}
