import type { ClientHttp2Stream } from 'node:http2';
import { stillQueued } from './unanswered-stream.js';

/** The longest gap between two looks at a session's requests. */
const longestSweepMs = 1000;

interface Pending {
  /** When the request was first seen gone out (Infinity: not seen so yet). */
  sentAt: number;
  /** What ends it at its deadline. */
  expire: () => void;
}

/**
 * The deadline of the HTTP/2 requests of one session: a request with no answer `timeoutMs` after
 * it went out is ended (by default, its stream destroyed with ETIMEDOUT: maybe delivered,
 * uncertain). A request queued behind the server's limit has not gone out, and is not abandoned as
 * maybe delivered while it waits. Node tells no one when a queued request leaves, so one timer per
 * session looks at its requests every quarter of the timeout (at most a second apart): a request's
 * wait counts from the first look that finds it gone out. It thus waits at least `timeoutMs` after
 * it left, and at most one look more. (Counted from when it was opened, a request that left the
 * queue just before its deadline would be ended as good as unanswered.)
 */
export class RequestDeadlines {
  private readonly pending = new Map<ClientHttp2Stream, Pending>();
  private readonly sweepMs: number;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `silence`: when requests reach their deadline with no word from the server since they went out
   * (`heardSince`, performance.now()), the connection may be dead though it never said so, and
   * `whenAlive` ends them only once it is known alive. Ended first, they would free their streams
   * for queued requests, which would leave into a dead connection instead of going out again.
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly silence?: { heardSince(at: number): boolean; whenAlive(then: () => void): void },
  ) {
    this.sweepMs = Math.min(timeoutMs / 4, longestSweepMs);
  }

  /** Watches `stream` until it closes; `expire` replaces the ETIMEDOUT destroy (node-apn's own timeout handler). */
  add(stream: ClientHttp2Stream, expire?: () => void): void {
    this.pending.set(stream, { sentAt: Infinity, expire: expire ?? (() => stream.destroy(this.timedOut())) });
    stream.once('close', () => this.delete(stream));
    this.timer ??= setTimeout(() => this.sweep(), this.sweepMs);
  }

  private delete(stream: ClientHttp2Stream): void {
    this.pending.delete(stream);
    if (this.pending.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private timedOut(): Error {
    // ETIMEDOUT: what firebase-admin reports as app/network-timeout, and classifyNoAnswer as a timeout.
    return Object.assign(new Error(`timed out: no answer within ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    // Every request is judged before any is ended: ending one frees a stream for a queued one.
    const expired: [ClientHttp2Stream, Pending][] = [];
    for (const [stream, pending] of this.pending) {
      if (stillQueued(stream)) pending.sentAt = Infinity;
      else if (pending.sentAt === Infinity) pending.sentAt = now;
      else if (now - pending.sentAt >= this.timeoutMs) expired.push([stream, pending]);
    }
    for (const [stream] of expired) this.pending.delete(stream); // ended once, though its stream closes later
    const expire = () => expired.forEach(([, pending]) => pending.expire());
    if (expired.length > 0 && this.silence && expired.some(([, pending]) => !this.silence!.heardSince(pending.sentAt))) this.silence.whenAlive(expire);
    else expire();
    if (this.pending.size > 0) this.timer ??= setTimeout(() => this.sweep(), this.sweepMs);
  }
}
