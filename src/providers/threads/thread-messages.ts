import type { PushcastConfig } from '../../config/config.js';
import type { Outcome } from '../../domain/outcome.js';
import type { ApnsEnvironment, ProviderName, WebPushSubscription } from '../../domain/recipient.js';
import type { SignedProviderToken } from '../apns/provider-token.js';

/**
 * What a sending thread needs of a recipient: where it goes, nothing of the row. The row's
 * variables, fields and keys stay in the main thread, so a batch crosses as little as it can.
 */
export interface ThreadItem {
  token: string;
  apnsEnvironment?: ApnsEnvironment;
  subscription?: WebPushSubscription;
  payload: unknown;
}

/** The main thread to a sending thread. */
export type ToThread =
  | { type: 'open'; provider: ProviderName; config: PushcastConfig; validateOnly: boolean }
  | { type: 'send'; id: number; provider: ProviderName; items: ThreadItem[] }
  /** The answer to `ready`: the batch's journal line is durable (`ok`), or it must not go. */
  | { type: 'go'; id: number; ok: boolean }
  /** The campaign is stopping: the provider starts no more requests (they come back `not-sent`). */
  | { type: 'abort'; provider: ProviderName }
  /** The provider stopped answering: its requests end now (Provider.abandon). */
  | { type: 'abandon'; provider: ProviderName }
  /** The APNs provider token the main thread signed (apns/provider-token.ts), to every thread whenever one asks. */
  | { type: 'provider-token'; token: SignedProviderToken }
  | { type: 'provider-token'; error: string }
  | { type: 'close' };

/** A sending thread to the main thread. */
export type FromThread =
  | { type: 'opened'; provider: ProviderName; maxBatch: number }
  | { type: 'open-failed'; provider: ProviderName; error: ThreadError }
  /** The thread is about to send this batch: the main thread journals it, then says `go`. */
  | { type: 'ready'; id: number }
  | { type: 'sent'; id: number; outcomes: Outcome[] }
  /** The provider threw instead of answering per recipient. */
  | { type: 'send-failed'; id: number; error: ThreadError }
  /** After `abandon`: every batch of the provider the thread held is answered (the answers went before this). */
  | { type: 'abandoned'; provider: ProviderName }
  /** The thread needs the APNs provider token: the current one, or (`generation`) a new one, since APNs said that one expired. */
  | { type: 'provider-token-wanted'; generation?: number }
  | { type: 'closed' };

/** An error as it crosses threads: ConfigError stays a ConfigError, so a bad credential still stops the campaign as one. */
export interface ThreadError {
  name: string;
  message: string;
}
