/**
 * A token bucket: `perSecond` sends a second on average, bursts up to one second's worth.
 * A batch larger than the bucket borrows and waits its debt off, so the average holds.
 */
export class RateLimiter {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(count: number): Promise<void> {
    this.queue = this.queue.then(async () => {
      const now = Date.now();
      this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      this.tokens -= count;
      if (this.tokens < 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil((-this.tokens / this.perSecond) * 1000)));
    });
    return this.queue;
  }
}

/** "500", "500/s", "30000/m" as sends per second. */
export function parseRate(value: string | number): number | undefined {
  if (typeof value === 'number') return value > 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute))?\s*$/.exec(value);
  if (!match) return undefined;
  const perUnit = Number(match[1]);
  const perSecond = match[2]?.startsWith('m') ? perUnit / 60 : perUnit;
  return perSecond > 0 ? perSecond : undefined;
}
