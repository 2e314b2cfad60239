import type { ClientHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { endQueuedStreams } from './unanswered-stream.js';

/**
 * The HTTP/2 sessions a client library opened, so they can really be closed. firebase-admin and
 * node-apn close a session gracefully (after GOAWAY, at shutdown), which waits for its open
 * streams; and Node, once the session is closed, only half-closes its socket and waits for the
 * server to hang up. A server that never does kept the process alive.
 */
export class OpenSessions {
  private readonly sessions = new Map<ClientHttp2Session, { socket?: Socket }>();
  private isClosed = false;

  /** `graceMs`: how long a session that got GOAWAY may finish its streams before it is destroyed. */
  constructor(private readonly graceMs: number) {}

  add(session: ClientHttp2Session): void {
    // A connection that finished opening after its provider closed has nobody left to close it.
    if (this.isClosed) return destroy(session);
    if (this.sessions.has(session)) return;
    const entry: { socket?: Socket } = {};
    this.sessions.set(session, entry);
    // `session.socket` is a proxy that may not be destroyed; the connect event hands over the socket itself.
    session.once('connect', (_session: ClientHttp2Session, socket: Socket) => (entry.socket = socket));
    session.once('close', () => {
      entry.socket?.destroy();
      this.sessions.delete(session);
    });
    session.once('goaway', () => setTimeout(() => destroy(session), this.graceMs).unref());
  }

  /** The provider closes: every session goes, and any opened from now on goes as soon as it is added. */
  close(): void {
    this.isClosed = true;
    this.destroyAll();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  destroyAll(): void {
    for (const [session, { socket }] of this.sessions) {
      destroy(session);
      socket?.destroy();
    }
    this.sessions.clear();
  }
}

/** Destroys a session; the requests it still held queued never left, and say so. */
function destroy(session: ClientHttp2Session): void {
  endQueuedStreams(session);
  session.destroy();
}
