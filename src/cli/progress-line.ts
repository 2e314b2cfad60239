import type { ProviderName } from '../domain/recipient.js';
import type { Tally } from '../domain/tally.js';
import type { Decision } from '../domain/decision.js';

/** The current rate and the ETA look at this much of the recent past: long enough to be steady, short enough to follow a pause. */
const windowMs = 5000;

interface Sample {
  at: number;
  sends: number;
  share?: number;
}

/**
 * The spinner's text, from what the campaign reports and a clock: how much of the audience was
 * read (bytes of the file: a streamed CSV has no row count up front), the current send rate, an
 * ETA from how fast the share read grows now, the counts, and any provider paused right now.
 */
export class ProgressLine {
  private readonly samples: Sample[] = [];
  private tally?: Tally;
  private readonly pauses = new Map<ProviderName, { until: number; reason: string; retryAfter: boolean }>();

  constructor(private readonly shareRead?: () => number) {}

  update(tally: Tally, now: number): void {
    this.tally = tally;
    this.samples.push({ at: now, sends: tally.sends, share: this.shareRead?.() });
    while (this.samples.length > 1 && now - this.samples[1].at >= windowMs) this.samples.shift();
  }

  decided(decision: Decision): void {
    if (decision.type === 'pause') this.pauses.set(decision.provider, { until: decision.until, reason: decision.reason, retryAfter: decision.retryAfter });
  }

  text(now: number): string {
    const parts: string[] = [];
    const share = this.shareRead?.();
    if (share !== undefined) parts.push(`${Math.floor(share * 100)}% read`);
    const tally = this.tally;
    parts.push(`${tally?.sends ?? 0} sent${tally?.earlier ? ' this run' : ''}`);
    const rate = this.currentRate(now);
    if (rate !== undefined) parts.push(`${Math.round(rate)}/s now`);
    const eta = share !== undefined ? this.eta(share, now) : undefined;
    if (eta !== undefined) parts.push(`ETA ${duration(eta)}`);
    let line = parts.join(' · ');
    if (tally) {
      const { accepted, invalid, failed, uncertain } = tally.counts;
      // On a resume the counts are the campaign's, the sends this run's: say which is which.
      const earlier = tally.earlier ? ` (${tally.earlier} settled by earlier runs)` : '';
      line += `: ${accepted} accepted, ${invalid} invalid, ${failed} failed${uncertain ? `, ${uncertain} uncertain` : ''}${earlier}, ${tally.retries} ${tally.retries === 1 ? 'retry' : 'retries'}`;
    }
    for (const [provider, pause] of this.pauses) {
      if (pause.until <= now) this.pauses.delete(provider);
      else line += ` · ${provider} paused ${duration(pause.until - now)} (${pause.reason}${pause.retryAfter ? ', Retry-After' : ''})`;
    }
    return line;
  }

  /** Sends per second over the recent window, counting up to now: a pause brings it down at once. */
  private currentRate(now: number): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || now - first.at < 500) return undefined;
    return (last.sends - first.sends) / ((now - first.at) / 1000);
  }

  /** The time left at the pace the share read grows now, in ms; none before there is a pace. */
  private eta(share: number, now: number): number | undefined {
    const first = this.samples.find((sample) => sample.share !== undefined);
    if (!first || first.share === undefined || share >= 1 || now - first.at < 1000) return undefined;
    const pace = (share - first.share) / (now - first.at);
    return pace > 0 ? (1 - share) / pace : undefined;
  }
}

/** "45 s", "3 min 05 s", "1 h 02 min": what a person reads at a glance. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} min`;
}
