import type { TokenMessage } from 'firebase-admin/messaging';
import type { DeviceRecipient, ProviderName, SkipReason } from '../domain/recipient.js';

/** What APNs receives for one device: the headers node-apn sets and the JSON body. */
export interface ApnsPayload {
  topic?: string;
  pushType: 'alert' | 'background';
  priority: 5 | 10;
  /** Seconds to keep trying; turned into apns-expiration when the request is made. */
  ttlSeconds?: number;
  collapseId?: string;
  body: Record<string, unknown>;
}

/** What firebase-admin receives for one token, and how long the message may wait (apns-expiration is set from it per request). */
export interface FcmPayload {
  message: TokenMessage;
  ttlSeconds?: number;
}

/** What web-push receives for one subscription: the plaintext to encrypt and the request options. */
export interface WebPushPayload {
  plaintext: string;
  ttlSeconds?: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  topic?: string;
}

export interface PayloadByProvider {
  fcm: FcmPayload;
  apns: ApnsPayload;
  webpush: WebPushPayload;
}

/** A recipient with its message built for its provider, ready to send. */
export type Rendered<P extends ProviderName = ProviderName> = {
  [K in P]: { provider: K; recipient: DeviceRecipient; payload: PayloadByProvider[K] };
}[P];

export type BuildResult<T> = { ok: true; payload: T } | { ok: false; reason: SkipReason; detail: string };

/** Settings the builders need beyond the message: configured defaults. */
export interface BuildContext {
  /** APNs topic (bundle id) for recipients whose row names none. */
  apnsTopic?: string;
  /** The web push JSON's shape: pushcast's own, or Declarative Web Push (Safari 18.4+ shows it without a service worker). */
  webPushFormat?: 'pushcast' | 'declarative';
}

/**
 * The provider's answer for one recipient. `accepted` means the provider took the message;
 * providers give no delivery receipts.
 *
 * `wrongSender` marks an answer that, when every recipient of the provider gets it, means the
 * sender's credentials or configuration are wrong rather than the tokens or the message: it says
 * what to fix. One such answer alone is just that recipient's outcome. With a `scope` (a web push
 * service's origin), "every recipient" is every recipient in that scope, and only it stops.
 */
export type Outcome =
  | { kind: 'accepted'; id?: string }
  | { kind: 'invalid-token'; reason: string; detail?: string; wrongSender?: string; scope?: string }
  | { kind: 'rejected-message'; reason: string; detail?: string; wrongSender?: string; scope?: string }
  /**
   * Safe to send again, `because` the provider answered "not now" (429, 5xx), refused the stream
   * unread (HTTP/2 REFUSED_STREAM, also every stream above a GOAWAY's last id), or the request
   * never left (no connection).
   */
  | { kind: 'retryable'; reason: string; because: 'answered' | 'refused' | 'not-sent'; retryAfterMs?: number; detail?: string }
  /** The whole provider cannot work (credentials, an untrusted certificate): the campaign stops. */
  | { kind: 'fatal'; reason: string; fix: string }
  /** The request may have reached the provider, but no answer came (a timeout, a reset): never resent automatically. */
  | { kind: 'uncertain'; reason: string; detail?: string };

export interface Provider<P extends ProviderName = ProviderName> {
  readonly name: P;
  /** Recipients per `send` call: 500 for FCM's sendEach; the others batch for the journal only. */
  readonly maxBatch: number;
  /** The part of the provider a recipient is judged in for a scoped wrong-sender answer: a web push service's origin. */
  scopeOf?(item: Rendered<P>): string;
  /** Checks credentials before the first send, where the provider allows it. */
  verify?(signal: AbortSignal): Promise<void>;
  /**
   * One outcome per input, in the same order. A recipient's failure is an outcome, never a throw.
   * Once `signal` is aborted (the campaign is stopping), requests not yet started are not started:
   * they come back as `retryable` with `because: 'not-sent'`.
   */
  send(batch: ReadonlyArray<Rendered<P>>, signal: AbortSignal): Promise<Outcome[]>;
  /** Destroys every session and socket, answered or not, so the process can exit. */
  close(): Promise<void>;
}
