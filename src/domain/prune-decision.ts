import type { FinalEvent } from './outcome.js';

/**
 * The group an invalid answer is judged in by the sanity guard (report/sanity-guard.ts): "fcm",
 * "webpush", "apns/production" or "apns/sandbox"; undefined for an answer the guard never holds
 * back (no wrong-sender mark). Given to whoever lists invalid tokens while the campaign runs.
 */
export type GuardGroupOf = (event: FinalEvent) => string | undefined;

/**
 * Which invalid tokens a finished campaign prunes, decided once after the run
 * (campaign/prune-decision.ts): every one, but those of the groups held back. The prune list and
 * the device registry take the same value, so they never disagree.
 */
export interface PruneDecision {
  /** Groups whose invalid tokens are held back: the sanity guard suspects them, and --trust-invalid was not given. */
  readonly withheld: ReadonlySet<string>;
}
