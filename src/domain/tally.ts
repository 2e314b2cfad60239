import type { FinalKind } from './outcome.js';
import { providerNames, type ProviderName, type SkipReason } from './recipient.js';

/** What became of every recipient of one provider. accepted is not delivered: providers give no receipts. */
export interface ProviderCounts {
  /** Devices pushcast tried to send to. */
  targeted: number;
  accepted: number;
  /** Tokens the provider says are dead: prune them. */
  invalid: number;
  /** Messages the provider refused (too large, bad argument): fix the message. */
  rejected: number;
  /** Still failing after every retry. */
  failed: number;
  /** In flight when the process died: maybe sent, maybe not. */
  uncertain: number;
  /** Rows not sent: duplicates, bad rows, not allowed endpoints. */
  skipped: number;
}

/** `scheduled`: every due recipient was handled, and some are due later (a later run sends them). */
export type CampaignStatus = 'done' | 'scheduled' | 'stopped' | 'interrupted';

export interface Tally {
  status: CampaignStatus;
  counts: ProviderCounts;
  providers: Record<ProviderName, ProviderCounts>;
  invalidByReason: Record<string, number>;
  rejectedByReason: Record<string, number>;
  failedByReason: Record<string, number>;
  /** Why recipients may or may not have been sent: timeout, no-answer, provider-stalled, unanswered-earlier. */
  uncertainByReason: Record<string, number>;
  skippedByReason: Partial<Record<SkipReason | string, number>>;
  /** Requests handed to the providers in this run, retries included. */
  sends: number;
  /** Requests beyond each recipient's first in this run: retries, and free resends of refused streams. */
  retries: number;
  /** Why the campaign stopped early, and what to fix: a provider's, or the campaign's own (its journal). */
  fatal?: { provider?: ProviderName; reason: string; fix: string };
  /** Parts of a provider that refused the sender for every recipient (a web push service's origin), while the rest went on. */
  halted: Array<{ provider: ProviderName; scope: string; reason: string; fix: string }>;
  /** Recipients an earlier run of the campaign settled (or maybe sent), counted without sending: on a resume, the counts are the campaign's and `sends` this run's. */
  earlier: number;
  /** A stopped run's rows it never reached: how many recipients, and the first and last line (or registry device). */
  unreached?: { rows: number; fromLine: number; toLine: number };
}

export function emptyCounts(): ProviderCounts {
  return { targeted: 0, accepted: 0, invalid: 0, rejected: 0, failed: 0, uncertain: 0, skipped: 0 };
}

export function emptyTally(): Tally {
  return {
    status: 'done',
    counts: emptyCounts(),
    providers: Object.fromEntries(providerNames.map((name) => [name, emptyCounts()])) as Record<ProviderName, ProviderCounts>,
    invalidByReason: {},
    rejectedByReason: {},
    failedByReason: {},
    uncertainByReason: {},
    skippedByReason: {},
    sends: 0,
    retries: 0,
    earlier: 0,
    halted: [],
  };
}

/** Adds `counts` into `sum`, kind by kind. */
export function addCounts(sum: ProviderCounts, counts: ProviderCounts): void {
  for (const key of Object.keys(sum) as Array<keyof ProviderCounts>) sum[key] += counts[key];
}

/** Counts one recipient's final state into a set of counts: every kind but skipped was targeted. */
export function countKind(counts: ProviderCounts, kind: FinalKind): void {
  counts[kind]++;
  if (kind !== 'skipped') counts.targeted++;
}

/** Counts one recipient's final state, per provider and in total. */
export function countFinal(tally: Tally, provider: ProviderName | undefined, kind: FinalKind, reason?: string): void {
  const byReason = kind === 'accepted' ? undefined : tally[`${kind}ByReason`];
  if (byReason && reason) byReason[reason] = (byReason[reason] ?? 0) + 1;
  countKind(tally.counts, kind);
  if (provider) countKind(tally.providers[provider], kind);
}
