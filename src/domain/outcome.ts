import type { DeviceRecipient, ProviderName } from './recipient.js';

/**
 * An answer that, given to many recipients, more likely means the sender is wrong (credentials,
 * environment, app) than the recipients. `fix` says what to check.
 *  - `all`: certain once every recipient gets it (a refused credential, another app's topic): the
 *    campaign stops, or only the answer's scope (a web push service) does. One alone is that
 *    recipient's own outcome.
 *  - `many`: an answer a dead token gets too (Unregistered); only a large share is telling, and
 *    then those tokens are held back from pruning (report/sanity-guard.ts).
 */
export interface WrongSender {
  fix: string;
  when: 'all' | 'many';
  /**
   * Also what a token of the other APNs environment gets (sandbox and production tokens differ):
   * such a token is only dead if its device's environment is known, so the device registry keeps
   * it unless the registry knows the environment.
   */
  otherEnvironment?: true;
}

/**
 * Why, in the same words for every provider: FCM's UNREGISTERED, APNs' Unregistered and a push
 * service's 410 are all `unregistered`. The provider's own word is kept at the start of `detail`.
 */
export type InvalidReason =
  /** Uninstalled, expired, unsubscribed: gone for good. */
  | 'unregistered'
  /** Not a token the provider knows: malformed, or (APNs) of the other environment. */
  | 'bad-token'
  /** A token of another sender: another Firebase project or app, another APNs topic, another VAPID key. */
  | 'other-sender';
export type RejectedReason =
  | 'payload-too-large'
  /** A field the provider refused: fix the message. */
  | 'bad-message'
  /** The sender's credentials (key, certificate, access token, VAPID JWT) were refused. */
  | 'credentials-refused'
  /** APNs: the topic is not one the credentials may send to. */
  | 'topic-refused'
  /** FCM could not use the APNs or web push credentials uploaded to the Firebase project. */
  | 'third-party-credentials-refused';
export type RetryableReason =
  /** The sender's quota: the whole provider waits. */
  | 'rate-limited'
  /** Too many messages to one device: that device waits. */
  | 'device-rate-limited'
  /** A 5xx, an internal error, a server shutting down. */
  | 'unavailable'
  /** APNs: the signing token had expired and was renewed. */
  | 'credentials-expired'
  | 'refused-stream'
  | 'connection-failed'
  | 'not-sent';

/**
 * A provider's answer for one recipient. `accepted` means the provider took the message;
 * providers give no delivery receipts. A `scope` (a web push service's origin) is where a
 * wrong-sender answer is judged: "every recipient" is every recipient in that scope.
 */
export type Outcome =
  | { kind: 'accepted'; id?: string }
  /** The token is dead: prune it. */
  | { kind: 'invalid'; reason: InvalidReason; detail?: string; wrongSender?: WrongSender; scope?: string }
  /** The message was refused (too large, a bad field, a refused credential): fix the message or the sender. */
  | { kind: 'rejected'; reason: RejectedReason; detail?: string; wrongSender?: WrongSender; scope?: string }
  /**
   * Safe to send again, `because` the provider answered "not now" (429, 5xx), refused the stream
   * unread (HTTP/2 REFUSED_STREAM, also every stream above a GOAWAY's last id), or the request
   * never left (no connection).
   */
  | { kind: 'retryable'; reason: RetryableReason; because: 'answered' | 'refused' | 'not-sent'; retryAfterMs?: number; detail?: string }
  /** The whole provider cannot work (credentials, an untrusted certificate): the campaign stops. */
  | { kind: 'fatal'; reason: string; fix: string }
  /** The request may have reached the provider, but no answer came (a timeout, a reset): never resent automatically. */
  | { kind: 'uncertain'; reason: 'timeout' | 'no-answer' | 'provider-stalled'; detail?: string };

/** A request that was never started (the campaign is stopping, or its batch could not go): a later run sends it. */
export const notSent: Outcome = { kind: 'retryable', reason: 'not-sent', because: 'not-sent' };

/**
 * A recipient's state at the end of a run, one name each from the provider's answer through the
 * journal (`o`) to the report's counts. `failed`: still failing after every retry, or not sent
 * because the sender was wrong; `skipped`: never sent (a bad row, a duplicate, not sent yet when
 * the campaign stopped).
 */
export const finalKinds = ['accepted', 'invalid', 'rejected', 'failed', 'uncertain', 'skipped'] as const;
export type FinalKind = (typeof finalKinds)[number];

/** A recipient's last word in a run, as the report, the device registry and the progress line hear it. */
export interface FinalEvent {
  kind: FinalKind;
  line: number;
  provider?: ProviderName;
  recipient?: DeviceRecipient;
  reason?: string;
  detail?: string;
  /** The provider's id for an accepted message. */
  id?: string;
  attempts: number;
  /** The answer's mark that the sender may be at fault: the sanity guard weighs it. */
  wrongSender?: WrongSender;
  /** Not reached by a stopped run: counted and written to --failed-out, and summed up in the record (`unreached`) rather than listed row by row. */
  unreached?: true;
  /** Settled by an earlier run of the campaign, counted as it was, not sent again. */
  earlier?: true;
}
