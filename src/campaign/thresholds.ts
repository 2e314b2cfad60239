import { counted } from '../domain/count-words.js';
import type { Tally } from '../domain/tally.js';

/** Conditions under which a finished campaign exits 3: for cron alerts and CI smoke tests. */
export interface Thresholds {
  /** Invalid tokens as a share of targeted devices, e.g. 0.1. */
  maxInvalidRate?: number;
  /** Recipients still failing after every retry. */
  maxFailed?: number;
  /** Every row of the audience must end accepted (a smoke test). */
  requireAllAccepted?: boolean;
}

/** The thresholds a finished campaign crossed, in words; empty when it passed. */
export function crossedThresholds(tally: Tally, thresholds: Thresholds): string[] {
  const { counts } = tally;
  const crossed: string[] = [];
  const unreached = nothingGotThrough(tally);
  if (unreached) crossed.push(unreached);
  if (thresholds.maxInvalidRate !== undefined && counts.targeted > 0) {
    const rate = counts.invalid / counts.targeted;
    if (rate > thresholds.maxInvalidRate) {
      crossed.push(`${(rate * 100).toFixed(1)}% of tokens are invalid, over --max-invalid-rate ${(thresholds.maxInvalidRate * 100).toFixed(1)}%`);
    }
  }
  if (thresholds.maxFailed !== undefined && counts.failed > thresholds.maxFailed) {
    crossed.push(`${counted(counts.failed, 'recipient')} failed after retries, over --max-failed ${thresholds.maxFailed}`);
  }
  if (thresholds.requireAllAccepted) {
    const duplicates = tally.skippedByReason.duplicate ?? 0;
    const notAccepted = counts.targeted - counts.accepted + counts.skipped - duplicates;
    if (notAccepted > 0 || counts.targeted === 0) {
      const parts = (['invalid', 'rejected', 'failed', 'uncertain'] as const).filter((kind) => counts[kind] > 0).map((kind) => `${counts[kind]} ${kind}`);
      if (counts.skipped - duplicates > 0) parts.push(`${counts.skipped - duplicates} skipped`);
      crossed.push(`--require-all-accepted: ${counts.targeted === 0 ? 'nothing was sent' : `${parts.join(', ')}`}`);
    }
  }
  return crossed;
}

/**
 * A run that reached nobody is not a success, whatever the thresholds: recipients were targeted
 * and the providers neither took nor judged a single one (all failed, uncertain or rejected), or
 * rows were read and none could be targeted. Rows only format-checked (`pushcast check`) count as checked.
 */
export function nothingGotThrough(tally: Tally): string | undefined {
  const { targeted, accepted, invalid, skipped } = tally.counts;
  if (targeted > 0 && accepted + invalid === 0) {
    const parts = (['rejected', 'failed', 'uncertain'] as const).filter((kind) => tally.counts[kind] > 0).map((kind) => `${tally.counts[kind]} ${kind}`);
    return `nothing got through: ${targeted} targeted, none accepted or found invalid (${parts.join(', ')})`;
  }
  // A scheduled campaign's run with nobody due yet is on time, not failing.
  const deferred = tally.skippedByReason.deferred ?? 0;
  if (targeted === 0 && skipped > 0 && deferred === 0 && !tally.skippedByReason['format-checked-only']) {
    const reasons = Object.entries(tally.skippedByReason)
      .sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))
      .map(([reason, n]) => `${reason} ${n}`);
    return `no row could be sent: ${counted(skipped, 'row')} read, every one skipped (${reasons.join(', ')})`;
  }
  return undefined;
}
