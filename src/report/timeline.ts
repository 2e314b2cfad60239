import type { ProviderName } from '../domain/recipient.js';
import type { Decision } from '../domain/decision.js';

/** More buckets than this and they are merged two by two: a day-long campaign keeps a small record. */
const maxBuckets = 600;
/** Pauses kept in the record; a storm of them says what it needs to in the first ones. */
const maxPauses = 200;

/** Sends and retries over the campaign, bucket by bucket, and the pauses: what the HTML report draws. */
export interface TimelineRecord {
  bucketSeconds: number;
  /** Requests answered in each bucket (retries included). */
  sends: number[];
  /** Retry decisions taken in each bucket. */
  retries: number[];
  /** A provider waiting out a quota or its connection, from `atSeconds` after the start, for `seconds`. */
  pauses: Array<{ provider: ProviderName; atSeconds: number; seconds: number; reason: string }>;
  pausesNotListed: number;
}

/** Collects the timeline from the engine's decisions as they come. */
export class Timeline {
  private bucketMs = 1000;
  private readonly sends: number[] = [];
  private readonly retries: number[] = [];
  private readonly pauses: TimelineRecord['pauses'] = [];
  private pausesNotListed = 0;

  constructor(private readonly startedAt: number) {}

  decided(decision: Decision, now = Date.now()): void {
    if (decision.type === 'batch') this.add(this.sends, now, decision.count);
    else if (decision.type === 'retry') this.add(this.retries, now, 1);
    else if (decision.type === 'pause') {
      if (this.pauses.length >= maxPauses) this.pausesNotListed++;
      else this.pauses.push({ provider: decision.provider, atSeconds: seconds(now - this.startedAt), seconds: seconds(decision.until - now), reason: decision.reason });
    }
  }

  record(): TimelineRecord {
    const length = Math.max(this.sends.length, this.retries.length);
    const filled = (buckets: number[]) => Array.from({ length }, (_, i) => buckets[i] ?? 0);
    return { bucketSeconds: this.bucketMs / 1000, sends: filled(this.sends), retries: filled(this.retries), pauses: this.pauses, pausesNotListed: this.pausesNotListed };
  }

  private add(buckets: number[], now: number, n: number): void {
    let index = Math.floor(Math.max(0, now - this.startedAt) / this.bucketMs);
    while (index >= maxBuckets) {
      this.coarsen();
      index = Math.floor(Math.max(0, now - this.startedAt) / this.bucketMs);
    }
    buckets[index] = (buckets[index] ?? 0) + n;
  }

  /** Twice as long a bucket: each pair of buckets becomes one. */
  private coarsen(): void {
    for (const buckets of [this.sends, this.retries]) {
      const merged = Array.from({ length: Math.ceil(buckets.length / 2) }, (_, i) => (buckets[2 * i] ?? 0) + (buckets[2 * i + 1] ?? 0));
      buckets.splice(0, buckets.length, ...merged);
    }
    this.bucketMs *= 2;
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** Shards' timelines on one clock: each shifted by when its run started, in the coarsest bucket of them. */
export function mergeTimelines(parts: Array<{ startedAt: number; timeline?: TimelineRecord }>): TimelineRecord | undefined {
  const present = parts.filter((part): part is { startedAt: number; timeline: TimelineRecord } => part.timeline !== undefined);
  if (present.length === 0) return undefined;
  const start = Math.min(...present.map((part) => part.startedAt));
  const bucketSeconds = Math.max(...present.map((part) => part.timeline.bucketSeconds));
  const merged: TimelineRecord = { bucketSeconds, sends: [], retries: [], pauses: [], pausesNotListed: 0 };
  for (const { startedAt, timeline } of present) {
    const offset = (startedAt - start) / 1000;
    for (const key of ['sends', 'retries'] as const) {
      timeline[key].forEach((n, i) => {
        const index = Math.floor((offset + i * timeline.bucketSeconds) / bucketSeconds);
        merged[key][index] = (merged[key][index] ?? 0) + n;
      });
    }
    merged.pauses.push(...timeline.pauses.map((pause) => ({ ...pause, atSeconds: seconds((pause.atSeconds + offset) * 1000) })));
    merged.pausesNotListed += timeline.pausesNotListed;
  }
  const length = Math.max(merged.sends.length, merged.retries.length);
  for (const key of ['sends', 'retries'] as const) merged[key] = Array.from({ length }, (_, i) => merged[key][i] ?? 0);
  return merged;
}
