import { constants, type ClientHttp2Stream } from 'node:http2';

/**
 * The request waits unsent behind the server's limit of concurrent streams: nghttp2 has not
 * written its HEADERS, and keeps its stream idle. APNs lowers that limit to 1 on a connection
 * whenever it rejects a notification (pushy #732), so a batch can queue for a while.
 */
export function stillQueued(stream: ClientHttp2Stream): boolean {
  return stream.state?.state === constants.NGHTTP2_STREAM_STATE_IDLE;
}

/**
 * The deadline of the HTTP/2 requests of one session: a request with no answer after `timeoutMs`
 * has its stream destroyed with ETIMEDOUT (maybe delivered: uncertain). A request still queued
 * then has not left: its wait starts again, rather than it be abandoned as maybe delivered. One
 * timer per session, not one per request: requests start in order, so the timer wakes at the
 * oldest one's deadline, ends every request past it, and sleeps until the next.
 */
export class RequestDeadlines {
  private readonly startedAt = new Map<ClientHttp2Stream, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  add(stream: ClientHttp2Stream): void {
    this.startedAt.set(stream, performance.now());
    this.timer ??= setTimeout(() => this.expire(), this.timeoutMs);
  }

  delete(stream: ClientHttp2Stream): void {
    this.startedAt.delete(stream);
    if (this.startedAt.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    const expired: ClientHttp2Stream[] = [];
    // A Map keeps insertion order: the requests are in the order they started.
    for (const [stream, startedAt] of this.startedAt) {
      const left = startedAt + this.timeoutMs - now;
      if (left > 0) {
        this.timer = setTimeout(() => this.expire(), left);
        break;
      }
      expired.push(stream);
    }
    // Which are still queued is judged before any is ended: ending one frees a stream for the next.
    const queued = new Set(expired.filter(stillQueued));
    for (const stream of expired) {
      this.startedAt.delete(stream);
      if (queued.has(stream)) this.startedAt.set(stream, now); // last in the order, as the latest start
    }
    if (queued.size > 0) this.timer ??= setTimeout(() => this.expire(), this.timeoutMs);
    for (const stream of expired) {
      // ETIMEDOUT: what firebase-admin reports as app/network-timeout, and classifyNoAnswer as a timeout.
      if (!queued.has(stream)) stream.destroy(Object.assign(new Error(`timed out: no answer within ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    }
  }
}
