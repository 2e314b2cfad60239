import { EventEmitter } from 'node:events';
import type { ClientHttp2Session, ClientHttp2Stream, ClientSessionRequestOptions, OutgoingHttpHeaders } from 'node:http2';
import type { OpenSessions } from '../http2/open-sessions.js';
import type { SessionRecord } from '../http2/session-record.js';

/**
 * How long a session no call uses is kept open. Back-to-back calls reuse it within milliseconds;
 * a session idle for longer is closed, so a connection that a NAT or load balancer forgot in the
 * meantime is not reused: its requests would go out and stay unanswered, maybe delivered.
 * (FCM itself closes connections idle for minutes: firebase-admin-java #1028.)
 */
const keptIdleMs = 5000;

/**
 * Makes one of a call's requests on the session, watched: `answered()` tells, once the call is
 * over, whether it got its whole answer (a session with a request that did not is not kept).
 */
export type WatchedRequest = (record: SessionRecord, headers: OutgoingHttpHeaders, options?: ClientSessionRequestOptions) => { stream: ClientHttp2Stream; answered(): boolean };

/**
 * firebase-admin 13 opens a new HTTP/2 session for each sendEach call and closes it when the call
 * ends, so every 100 messages paid a TCP and TLS handshake (firebase-admin-node #2488): on this
 * machine about a sixth of the sender's CPU, and against the real FCM a round trip or two before
 * each call's first request. These are the sessions calls left, each handed to one call at a time
 * (a call never shares its session with another, as before): a session is kept only if every
 * request of the call that used it was answered, and not after a GOAWAY or an error.
 */
export class KeptSessions {
  /** The sessions no call uses now, each with the timer that closes it. */
  private readonly idle = new Map<SessionRecord, NodeJS.Timeout>();

  /** `sessions`: where each session is recorded (with pushcast's request deadline) for the provider's close. */
  constructor(private readonly options: { sessions: OpenSessions; idleMs?: number }) {}

  /** A session for one call: one a call before left open, or else `open()`'s. */
  lease(open: () => ClientHttp2Session, request: WatchedRequest): SessionLease {
    return new SessionLease(this.takeIdle() ?? this.adopt(open()), this, request);
  }

  /** The call is over: its session is kept for the next, or closed as firebase-admin would have. */
  release(record: SessionRecord, reusable: boolean): void {
    const { session } = record;
    if (!reusable || session.closed || session.destroyed) {
      session.close();
      return;
    }
    session.unref(); // an idle session keeps no process alive
    this.idle.set(
      record,
      setTimeout(() => this.forget(record, true), this.options.idleMs ?? keptIdleMs),
    );
  }

  private takeIdle(): SessionRecord | undefined {
    for (const [record, timer] of this.idle) {
      clearTimeout(timer);
      this.idle.delete(record);
      if (record.session.closed || record.session.destroyed) continue;
      record.session.ref();
      return record;
    }
    return undefined;
  }

  private adopt(session: ClientHttp2Session): SessionRecord {
    const record = this.options.sessions.add(session);
    // An idle session's error has no call to go to; a leased one's reaches its call through the lease.
    session.on('error', () => undefined);
    session.once('goaway', () => this.forget(record, false));
    session.once('close', () => this.forget(record, false));
    return record;
  }

  private forget(record: SessionRecord, close: boolean): void {
    clearTimeout(this.idle.get(record));
    this.idle.delete(record);
    if (close) record.session.close();
  }
}

/**
 * What firebase-admin's Http2SessionHandler holds instead of a session: the events it listens to
 * (goaway, error, close) come from the real session while the call lasts, its requests go out on
 * it, and its `close()` hands the session back instead of closing it.
 */
export class SessionLease extends EventEmitter {
  private released = false;
  private readonly answered: Array<() => boolean> = [];
  private readonly forwarded: Array<[string, (...args: unknown[]) => void]>;

  constructor(
    readonly record: SessionRecord,
    private readonly kept: KeptSessions,
    private readonly watchedRequest: WatchedRequest,
  ) {
    super();
    this.forwarded = ['goaway', 'error', 'close'].map((event) => [event, (...args: unknown[]) => this.emit(event, ...args)]);
    for (const [event, forward] of this.forwarded) record.session.on(event, forward);
  }

  get closed(): boolean {
    return this.released || this.record.session.closed;
  }

  request(headers: OutgoingHttpHeaders, options?: ClientSessionRequestOptions): ClientHttp2Stream {
    const { stream, answered } = this.watchedRequest(this.record, headers, options);
    this.answered.push(answered);
    return stream;
  }

  close(): void {
    if (this.released) return;
    this.released = true;
    for (const [event, forward] of this.forwarded) this.record.session.off(event, forward);
    this.kept.release(
      this.record,
      this.answered.every((answered) => answered()),
    );
    process.nextTick(() => this.emit('close'));
  }
}
