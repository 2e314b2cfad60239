import http2, { type IncomingHttpHeaders } from 'node:http2';
import { connectTls } from '../check-certificate.js';
import { closedWithoutAnswer } from '../no-answer.js';
import type { OpenSessions } from '../open-sessions.js';
import { RequestDeadlines } from '../request-deadlines.js';
import { watchUnanswered } from '../unanswered-stream.js';

/** A request as web-push's `generateRequestDetails` builds it: encrypted body, VAPID and RFC 8030 headers. */
export interface PushRequest {
  endpoint: string;
  method: string;
  headers: Record<string, string | number>;
  body: Buffer | string | null;
}

export type PushAnswer =
  | { status: number; headers: IncomingHttpHeaders; body: string }
  /** No answer. `written`: the request may have reached the service; `refused`: reset unread (RFC 9113 §8.7). */
  | { error: Error; written: boolean; refused: boolean };

interface Connection {
  session: http2.ClientHttp2Session;
  deadlines: RequestDeadlines;
}

/**
 * The HTTP/2 connections to push services (RFC 8030 is written for HTTP/2). Where a push service
 * offers it (ALPN, asked on the first connection to its origin), one connection carries all of its
 * requests, multiplexed, as FCM's and APNs' do: less CPU a message than a keep-alive pool of
 * HTTP/1.1 sockets, one connection instead of hundreds, and a dropped connection says which
 * requests were never processed (GOAWAY, REFUSED_STREAM). A service that does not offer HTTP/2
 * gets `undefined` from `connection`, and the caller uses HTTP/1.1.
 */
export class PushServiceConnections {
  /** By the origin connected to: a live connection, one being opened, or `undefined` for HTTP/1.1 only. */
  private readonly open = new Map<string, Promise<Connection | undefined>>();
  private readonly http1Only = new Set<string>();

  constructor(
    private readonly options: {
      ca?: string;
      /** Connect here instead of the subscription's origin (a proxy, the emulator); `:authority` stays the subscription's. */
      redirect?: URL;
      timeoutMs: number;
      sessions: OpenSessions;
    },
  ) {}

  /** The connection for a subscription's push service, or `undefined` if it speaks HTTP/1.1 only. Rejects if it cannot connect. */
  connection(endpoint: URL): Promise<Connection | undefined> | undefined {
    const target = this.options.redirect ?? endpoint;
    if (this.http1Only.has(target.origin)) return undefined;
    let connection = this.open.get(target.origin);
    if (!connection) {
      connection = this.connect(target);
      this.open.set(target.origin, connection);
      // A connection that failed is forgotten: the next batch tries again.
      connection.catch(() => this.open.get(target.origin) === connection && this.open.delete(target.origin));
    }
    return connection;
  }

  /** Sends one request (to `url`, its endpoint) on the connection, and settles with its answer or with why there was none. */
  send(connection: Connection, request: PushRequest, url: URL): Promise<PushAnswer> {
    const { session, deadlines } = connection;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ':method': request.method, ':path': url.pathname + url.search, ':authority': url.host, ...request.headers });
    } catch (error) {
      // A session that got GOAWAY or was destroyed opens no stream: nothing left.
      return Promise.resolve({ error: error as Error, written: false, refused: false });
    }
    deadlines.add(stream);
    const unanswered = watchUnanswered(session, stream);
    return new Promise((resolve) => {
      let answer: { status: number; headers: IncomingHttpHeaders } | undefined;
      const body: Buffer[] = []; // most answers have none
      stream.once('response', (headers) => (answer = { status: Number(headers[':status']), headers }));
      stream.on('data', (chunk: Buffer) => body.push(chunk));
      stream.on('error', () => undefined); // judged at close
      stream.once('close', () => {
        // An answer's status was given: the service processed the request, even if its body was cut.
        if (answer) return resolve({ ...answer, body: Buffer.concat(body).toString() });
        // A stream still pending (over the service's concurrent streams) never left, nor one whose frames failed.
        const { frameFailed, refused, unsent } = unanswered();
        const error = stream.errored ?? closedWithoutAnswer(stream.rstCode);
        resolve({ error, written: stream.id !== undefined && !frameFailed && !unsent, refused });
      });
      stream.end(request.body ?? undefined);
    });
  }

  /** Opens a TLS connection offering h2 and HTTP/1.1; the service's choice decides. */
  private connect(target: URL): Promise<Connection | undefined> {
    return new Promise((resolve, reject) => {
      const socket = connectTls(target, this.options.ca);
      socket.setTimeout(this.options.timeoutMs, () => socket.destroy(Object.assign(new Error(`connecting to ${target.origin} timed out`), { code: 'ETIMEDOUT' })));
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.setTimeout(0);
        socket.off('error', reject);
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          this.http1Only.add(target.origin);
          this.open.delete(target.origin);
          return resolve(undefined);
        }
        const session = http2.connect(target.origin, { createConnection: () => socket });
        this.options.sessions.add(session);
        session.on('error', () => undefined); // each stream settles with its own error
        const opened = this.open.get(target.origin);
        // After GOAWAY the session takes no new streams: the next request opens another.
        const forget = () => this.open.get(target.origin) === opened && this.open.delete(target.origin);
        const connection: Connection = { session, deadlines: new RequestDeadlines(this.options.timeoutMs) };
        session.once('goaway', forget);
        session.once('close', forget);
        resolve(connection);
      });
    });
  }
}
