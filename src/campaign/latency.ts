/**
 * Per-message latency, from handing a batch to the client library to its answers: each batch's
 * duration counts once per message in it. Kept as (duration, count) pairs: a few thousand batches.
 */
export class LatencyRecorder {
  private readonly samples: Array<[ms: number, count: number]> = [];

  record(ms: number, count: number): void {
    this.samples.push([ms, count]);
  }

  percentiles(): { p50: number; p99: number } | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a[0] - b[0]);
    const total = sorted.reduce((sum, [, count]) => sum + count, 0);
    const at = (share: number): number => {
      let seen = 0;
      for (const [ms, count] of sorted) {
        seen += count;
        if (seen >= share * total) return Math.round(ms * 10) / 10;
      }
      return sorted[sorted.length - 1][0];
    };
    return { p50: at(0.5), p99: at(0.99) };
  }
}
