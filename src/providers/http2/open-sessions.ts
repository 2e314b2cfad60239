import type { ClientHttp2Session } from 'node:http2';
import { SessionRecord } from './session-record.js';

/**
 * The HTTP/2 sessions a client library opened, each with its record, so they can really be closed.
 * firebase-admin and node-apn close a session gracefully (after GOAWAY, at shutdown), which waits
 * for its open streams; and Node, once the session is closed, only half-closes its socket and
 * waits for the server to hang up. A server that never does kept the process alive.
 */
export class OpenSessions {
  private readonly records = new Map<ClientHttp2Session, SessionRecord>();
  private isClosed = false;

  /**
   * `timeoutMs`: how long a request that went out waits for its answer, and how long a session that
   * got GOAWAY may finish its streams before it is destroyed.
   */
  constructor(private readonly timeoutMs: number) {}

  /** Records a session (once: a session added again gets the record it has). */
  add(session: ClientHttp2Session): SessionRecord {
    const known = this.records.get(session);
    if (known) return known;
    const record = new SessionRecord(session, this.timeoutMs);
    // A connection that finished opening after its provider closed has nobody left to close it.
    if (this.isClosed) {
      record.destroy();
      return record;
    }
    this.records.set(session, record);
    session.once('close', () => this.records.delete(session));
    session.once('goaway', () => setTimeout(() => record.destroy(), this.timeoutMs).unref());
    return record;
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
    for (const record of this.records.values()) record.destroy();
    this.records.clear();
  }
}
