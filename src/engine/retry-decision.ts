import type { Outcome } from '../domain/outcome.js';
import { reconnectDelay, retryDelay } from './retry-delay.js';

/**
 * Waves in a row refused with no answer at all (a GOAWAY storm) whose recipients still go again
 * for free; after that a refusal costs an attempt. While answers keep coming, refusals are free:
 * a server draining its connections refuses the streams it did not get to, and that is progress.
 */
export const freeRefusals = 3;

/**
 * For a recipient the provider did not take (a retryable answer) in a run that goes on: give up
 * (its attempts or its time are spent), or go again after `delayMs`, either the whole provider
 * waiting (the connection or the sender's quota, not this device) or the recipient alone.
 * `free`: a stream refused unread, which spends no attempt.
 */
export type RetryDecision = { kind: 'give-up'; free: boolean } | { kind: 'retry'; delayMs: number; waits: 'provider' | 'recipient'; free: boolean };

export function decideRetry(
  work: { attempts: number; firstAttemptAt?: number },
  outcome: Outcome & { kind: 'retryable' },
  context: { refusedStreak: number; maxAttempts: number; maxRetryMs: number; now: number; random: () => number },
): RetryDecision {
  const { refusedStreak, now, random } = context;
  // Refused unread: no attempt spent; a wait before the next connection only if nothing answers.
  const free = outcome.because === 'refused' && refusedStreak <= freeRefusals;
  const attempts = free ? work.attempts - 1 : work.attempts;
  const delayMs = free ? (refusedStreak > 0 ? reconnectDelay(refusedStreak, random) : 0) : retryDelay(attempts, outcome.retryAfterMs, random);
  const deadline = (work.firstAttemptAt ?? now) + context.maxRetryMs;
  if (attempts >= context.maxAttempts || now + delayMs > deadline) return { kind: 'give-up', free };
  // A sender's quota speaks for the whole provider, not one device: everything waits.
  const waits = outcome.because !== 'answered' || outcome.reason === 'rate-limited' ? 'provider' : 'recipient';
  return { kind: 'retry', delayMs, waits, free };
}
