import http2, { type IncomingHttpHeaders } from 'node:http2';
import { connectTls } from '../http2/check-provider-host.js';
import { leastBusy } from '../http2/least-busy.js';
import { closedWithoutAnswer } from '../http2/no-answer.js';
import type { OpenSessions } from '../http2/open-sessions.js';
import type { SessionRecord } from '../http2/session-record.js';

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

/** One push service's HTTP/2 connections (their sessions' records), and the one being opened. */
export interface PushService {
  target: URL;
  connections: SessionRecord[];
  opening?: Promise<PushService | undefined>;
}

/**
 * Connections to one push service at most. FCM's web push takes 100 concurrent streams on a
 * connection (firebase-admin-node #2488, #2943), so web push's 200 in flight waited half in line
 * on one: 5,000 pushes at 100 ms an answer went at 793 a second on one connection against 1,584 on
 * two (one thread each). Another opens only while the open ones have no stream free.
 */
const connectionsPerService = 4;
/** The limit assumed until the service's SETTINGS say (Node's own assumption too). */
const assumedStreamLimit = 100;

/** Whether a request now would wait behind the service's limit on every connection. */
function allStreamsTaken(service: PushService): boolean {
  let free = 0;
  for (const { session, openStreams } of service.connections) free += (session.remoteSettings?.maxConcurrentStreams ?? assumedStreamLimit) - openStreams;
  return free <= 0;
}

/**
 * The HTTP/2 connections to push services (RFC 8030 is written for HTTP/2). Where a push service
 * offers it (ALPN, asked on the first connection to its origin), its requests are multiplexed over
 * a few connections, as FCM's and APNs' are: less CPU a message than a keep-alive pool of HTTP/1.1
 * sockets, a few connections instead of hundreds, and a dropped connection says which requests
 * were never processed (GOAWAY, REFUSED_STREAM). A service that does not offer HTTP/2 gets
 * `undefined` from `service`, and the caller uses HTTP/1.1.
 */
export class PushServiceConnections {
  /** By the origin connected to. */
  private readonly services = new Map<string, PushService>();
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

  /** A subscription's push service, connected; `undefined` if it speaks HTTP/1.1 only. Rejects if it cannot connect. */
  service(endpoint: URL): Promise<PushService | undefined> | undefined {
    const target = this.options.redirect ?? endpoint;
    if (this.http1Only.has(target.origin)) return undefined;
    let service = this.services.get(target.origin);
    if (!service) this.services.set(target.origin, (service = { target, connections: [] }));
    if (service.connections.length > 0) return Promise.resolve(service);
    return this.open(service);
  }

  /** Sends one request (to `url`, its endpoint) on the service's least busy connection, and settles with its answer or with why there was none. */
  send(service: PushService, request: PushRequest, url: URL): Promise<PushAnswer> {
    const connection = leastBusy(service.connections, ({ openStreams }) => openStreams);
    // Every connection went away (GOAWAY, closed) since the service was connected: nothing left.
    if (!connection)
      return Promise.resolve({
        error: Object.assign(new Error(`the connection to ${service.target.origin} closed`), { code: 'ERR_HTTP2_INVALID_SESSION' }),
        written: false,
        refused: false,
      });
    // A spare connection, opened beside this request: if it fails, requests keep to the ones open.
    if (service.connections.length < connectionsPerService && allStreamsTaken(service)) void this.open(service).catch(() => undefined);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = connection.session.request({ ':method': request.method, ':path': url.pathname + url.search, ':authority': url.host, ...request.headers });
    } catch (error) {
      // A session that got GOAWAY or was destroyed opens no stream: nothing left.
      return Promise.resolve({ error: error as Error, written: false, refused: false });
    }
    connection.startDeadline(stream);
    const unanswered = connection.watch(stream);
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
        const { written, refused } = unanswered();
        const error = stream.errored ?? closedWithoutAnswer(stream.rstCode);
        resolve({ error, written, refused });
      });
      stream.end(request.body ?? undefined);
    });
  }

  /** Opens one more connection to the service, one at a time; resolves with the service, or `undefined` if it speaks HTTP/1.1 only. */
  private open(service: PushService): Promise<PushService | undefined> {
    service.opening ??= this.connect(service.target)
      .then((connection) => {
        if (!connection) return undefined;
        service.connections.push(connection);
        // After GOAWAY the session takes no new streams: the next request goes to another, or opens one.
        const forget = () => {
          const index = service.connections.indexOf(connection);
          if (index >= 0) service.connections.splice(index, 1);
        };
        connection.session.once('goaway', forget);
        connection.session.once('close', forget);
        return service;
      })
      .finally(() => (service.opening = undefined));
    return service.opening;
  }

  /** Opens a TLS connection offering h2 and HTTP/1.1; the service's choice decides. */
  private connect(target: URL): Promise<SessionRecord | undefined> {
    return new Promise((resolve, reject) => {
      const socket = connectTls(target, this.options.ca);
      socket.setTimeout(this.options.timeoutMs, () => socket.destroy(Object.assign(new Error(`connecting to ${target.origin} timed out`), { code: 'ETIMEDOUT' })));
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.setTimeout(0);
        socket.off('error', reject);
        // Opened for the next wave while the provider closed: no session, nothing left open.
        if (this.options.sessions.closed) {
          socket.destroy();
          return reject(Object.assign(new Error(`the connection to ${target.origin} closed`), { code: 'ERR_HTTP2_INVALID_SESSION' }));
        }
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          this.http1Only.add(target.origin);
          return resolve(undefined);
        }
        const session = http2.connect(target.origin, { createConnection: () => socket });
        const record = this.options.sessions.add(session);
        session.on('error', () => undefined); // each stream settles with its own error
        resolve(record);
      });
    });
  }
}
