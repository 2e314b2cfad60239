import type { ProviderName } from './recipient.js';

/**
 * What the engine decided and why, as it decides it: `--verbose` prints each one, and the progress
 * line shows a pause while it lasts. No token and no credential is in any of them.
 */
export type Decision =
  /** A batch came back: how many recipients, how long it took, and how its answers fell. */
  | { type: 'batch'; provider: ProviderName; count: number; ms: number; outcomes: Record<string, number> }
  /** One recipient goes again after `delayMs`: this device's own answer (`recipient`) or with its whole provider (`provider`). */
  | { type: 'retry'; provider: ProviderName; line: number; reason: string; attempt: number; delayMs: number; waits: 'recipient' | 'provider'; retryAfter: boolean }
  /** A provider's sends wait until `until` (epoch ms): its quota, or its connection. */
  | { type: 'pause'; provider: ProviderName; until: number; reason: string; retryAfter: boolean }
  /** A recipient is not retried any more: out of attempts or past the retry window. */
  | { type: 'give-up'; provider: ProviderName; line: number; reason: string; attempts: number };
