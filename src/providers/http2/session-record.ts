import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { constants } from 'node:http2';
import type { Socket } from 'node:net';
import { unsentError } from './no-answer.js';
import { RequestDeadlines } from './request-deadlines.js';
import { stillQueued, type UnansweredStream } from './unanswered-stream.js';

/** What is known of one request stream while it is open. */
interface WatchedStream {
  frameFailed: boolean;
  /** Ended by `endQueued()`: still queued behind the server's limit, it never left. */
  unsent: boolean;
}

/**
 * Everything pushcast knows of one HTTP/2 session a client opened, whoever opened it (web push
 * itself, node-apn, firebase-admin): whether it ever connected, whether its server sent GOAWAY,
 * its request streams still open (queued behind the server's limit or out), their deadlines, and
 * its socket. Each adapter asks its session's record; one rule judges a stream that ended unanswered.
 */
export class SessionRecord {
  private everConnected: boolean;
  /** Its server sent GOAWAY: it refuses every stream above the last it processed. */
  private goingAway = false;
  /** The socket under it, once it connected (none for a session recorded after it connected). */
  private socket: Socket | undefined;
  private readonly streams = new Map<ClientHttp2Stream, WatchedStream>();
  private readonly deadlines: RequestDeadlines;
  /** When the server last said anything pushcast sees (its settings, an answer, a PING's ACK), performance.now(). */
  private lastHeardAt = performance.now();
  /** What waits for the answer to a PING sent to learn whether the connection is alive. */
  private waitingForPing: Array<() => void> | undefined;

  /** `requestTimeoutMs`: how long a request that went out waits for its answer (request-deadlines.ts), and a PING for its ACK. */
  constructor(
    readonly session: ClientHttp2Session,
    private readonly requestTimeoutMs: number,
  ) {
    this.deadlines = new RequestDeadlines(requestTimeoutMs, { heardSince: (at) => this.lastHeardAt >= at, whenAlive: (then) => this.whenAlive(then) });
    session.on('remoteSettings', () => this.heard());
    this.everConnected = !session.connecting && !session.destroyed;
    // `session.socket` is a proxy that may not be destroyed; the connect event hands over the socket itself.
    session.once('connect', (_session: ClientHttp2Session, socket: Socket) => {
      this.everConnected = true;
      this.socket = socket;
    });
    session.once('goaway', () => (this.goingAway = true));
    // Node, once a session is closed, only half-closes its socket and waits for the server to hang
    // up: a server that never does would keep the process alive.
    session.once('close', () => this.socket?.destroy());
    // When its connection fails or closes, Node destroys the session's streams with the connection's
    // error, and a stream no longer says whether it had left: one still queued had not, and is ended
    // first with an error that says so, before Node ends it as maybe delivered.
    const endUnsent = () => this.endQueued();
    try {
      session.socket.prependOnceListener('error', endUnsent);
      session.socket.prependOnceListener('close', endUnsent);
    } catch {
      // A session with no socket left (Node's ERR_HTTP2_SOCKET_UNBOUND): its streams stay judged as before, maybe sent.
    }
  }

  /** Its connection was made, now or before: a request on a session that never connected never reached the server. */
  get connected(): boolean {
    return this.everConnected;
  }

  /** Its request streams not closed yet, queued behind the server's limit or out. */
  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Watches a request stream from its opening; the function returned judges it once it has ended
   * (its reset code and any frame error are known by its `error` or `close` event).
   */
  watch(stream: ClientHttp2Stream): () => UnansweredStream {
    const watched: WatchedStream = { frameFailed: false, unsent: false };
    this.streams.set(stream, watched);
    stream.once('close', () => this.streams.delete(stream));
    stream.once('frameError', () => (watched.frameFailed = true));
    stream.once('response', () => this.heard());
    return () => ({
      frameFailed: watched.frameFailed,
      refused: stream.rstCode === constants.NGHTTP2_REFUSED_STREAM || (watched.frameFailed && this.goingAway),
      unsent: watched.unsent,
      written: this.everConnected && !watched.frameFailed && !watched.unsent,
    });
  }

  /** Ends `stream` if it goes unanswered past its deadline: by default destroyed with ETIMEDOUT (maybe delivered); `expire` replaces that. */
  startDeadline(stream: ClientHttp2Stream, expire?: () => void): void {
    this.deadlines.add(stream, expire);
  }

  /**
   * Ends the streams still queued behind the server's limit, as never sent: before the session is
   * destroyed (a stall, a GOAWAY's grace run out, shutdown) or its connection ends, which would end
   * them with an error that no longer tells whether they left.
   */
  private endQueued(): void {
    for (const [stream, watched] of this.streams) {
      if (stillQueued(stream)) {
        watched.unsent = true;
        stream.destroy(unsentError());
      }
    }
  }

  private heard(): void {
    this.lastHeardAt = performance.now();
  }

  /**
   * Requests went unanswered to their deadline and the server said nothing the whole time: is the
   * connection still there? One can die without a word (a NAT or a load balancer forgets it; on
   * Node 22 a client missed the emulator's cut and wrote nothing more), and its queued requests
   * would then leave into it, or never leave at all. A PING: its ACK runs `then` (the requests end
   * at their deadline, as maybe delivered); no ACK within the request timeout destroys the session,
   * so that what it held queued goes out again on a new connection, and what went out is uncertain.
   */
  private whenAlive(then: () => void): void {
    if (this.waitingForPing) return void this.waitingForPing.push(then);
    if (this.session.destroyed) return then();
    const waiting = (this.waitingForPing = [then]);
    const dead = setTimeout(() => {
      this.waitingForPing = undefined;
      this.destroy();
    }, this.requestTimeoutMs);
    dead.unref();
    const answered = (error: Error | null) => {
      if (this.waitingForPing !== waiting) return; // destroyed as dead already
      clearTimeout(dead);
      this.waitingForPing = undefined;
      if (!error) this.heard();
      waiting.forEach((waiter) => waiter());
    };
    try {
      if (!this.session.ping(answered)) answered(new Error('PING not sent'));
    } catch (error) {
      // A session closing or destroyed takes no PING: its streams end with it anyway.
      answered(error as Error);
    }
  }

  /** Destroys the session and its socket; the requests it still held queued never left, and say so first. */
  destroy(): void {
    this.endQueued();
    this.session.destroy();
    this.socket?.destroy();
  }
}
