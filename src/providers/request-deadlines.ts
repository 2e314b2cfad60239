import type http2 from 'node:http2';

/**
 * The deadline of the HTTP/2 requests of one session: a request with no answer after `timeoutMs`
 * has its stream destroyed with ETIMEDOUT (maybe delivered: uncertain). One timer per session,
 * not one per request: requests start in order, so the timer wakes at the oldest one's deadline,
 * ends every request past it, and sleeps until the next.
 */
export class RequestDeadlines {
  private readonly startedAt = new Map<http2.ClientHttp2Stream, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  add(stream: http2.ClientHttp2Stream): void {
    this.startedAt.set(stream, performance.now());
    this.timer ??= setTimeout(() => this.expire(), this.timeoutMs);
  }

  delete(stream: http2.ClientHttp2Stream): void {
    this.startedAt.delete(stream);
    if (this.startedAt.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    // A Map keeps insertion order: the requests are in the order they started.
    for (const [stream, startedAt] of this.startedAt) {
      const left = startedAt + this.timeoutMs - now;
      if (left > 0) {
        this.timer = setTimeout(() => this.expire(), left);
        return;
      }
      this.startedAt.delete(stream);
      // ETIMEDOUT: what firebase-admin reports as app/network-timeout, and classifyNoAnswer as a timeout.
      stream.destroy(Object.assign(new Error(`timed out: no answer within ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    }
  }
}
