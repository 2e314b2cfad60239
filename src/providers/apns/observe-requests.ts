import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import type { OpenSessions } from '../http2/open-sessions.js';
import { parseRetryAfter } from '../http2/parse-retry-after.js';
import type { SessionRecord } from '../http2/session-record.js';

type RequestFn = (session: ClientHttp2Session, ...rest: unknown[]) => Promise<unknown>;

/** What the transport saw of one request, which node-apn's result does not say. */
export interface RequestObservation {
  /** The answer's status, which node-apn replaces by "session closed" when a retryable answer came on a closing session. */
  status?: number;
  retryAfterMs?: number;
  /** The server refused the stream unread (http2/session-record.ts): not processed. Judged when read, after the stream ended. */
  readonly refused: boolean;
  /**
   * The request may have reached APNs: its session was established, it was not still queued when
   * the connection ended, and no frame of it failed to go out (Node's `frameError`, after a GOAWAY
   * for instance: the request was never complete).
   */
  readonly written: boolean;
}

/**
 * Wraps node-apn's private `client.request(session, …)`, the one place its streams are opened:
 *  - node-apn reads `headers['Retry-After']`, but HTTP/2 header names are lower-case, and it
 *    deletes the field before answering anyway;
 *  - its errors do not say whether a stream was refused unread or its session never connected;
 *  - it replaces a session after GOAWAY without waiting for the old one to close, so every
 *    session goes into `sessions` for the provider's close.
 * Observations are kept by request path (`/3/device/<token>`), unique per recipient in a
 * campaign. Without `client.request` (a node-apn upgrade), it observes nothing and pushcast
 * treats every failure without an answer as uncertain; test/providers.test.ts pins it.
 */
export function observeRequests(provider: object, sessions: OpenSessions): (path: string) => RequestObservation | undefined {
  const seen = new Map<string, RequestObservation>();
  /** The sessions whose `request` is wrapped. */
  const wrapped = new WeakSet<ClientHttp2Session>();
  const client = (provider as { client?: { request?: RequestFn } }).client;
  const request = client?.request;
  if (!client || typeof request !== 'function') return () => undefined;

  const watch = (session: ClientHttp2Session): void => {
    if (wrapped.has(session)) return;
    wrapped.add(session);
    const record = sessions.add(session);
    // Once per session, not a wrapper per request: node-apn opens every stream through it.
    const plain = session.request.bind(session) as (...args: unknown[]) => ClientHttp2Stream;
    session.request = ((headers: OutgoingHttpHeaders, ...options: unknown[]) => openStream(record, plain, headers, options)) as typeof session.request;
  };
  const openStream = (record: SessionRecord, plain: (...args: unknown[]) => ClientHttp2Stream, headers: OutgoingHttpHeaders, options: unknown[]): ClientHttp2Stream => {
    const path = String(headers[':path']);
    const stream = plain(headers, ...options);
    const unanswered = record.watch(stream);
    // Read once node-apn has answered, when the stream has ended and its reset code is set.
    const observation: RequestObservation = {
      get refused() {
        return unanswered().refused;
      },
      get written() {
        return unanswered().written;
      },
    };
    seen.set(path, observation);
    keepWaitingWhileQueued(record, stream);
    stream.on('response', (response) => {
      observation.status = Number(response[':status']);
      observation.retryAfterMs = parseRetryAfter(response['retry-after']);
    });
    return stream;
  };

  client.request = function (this: unknown, session: ClientHttp2Session, ...rest: unknown[]) {
    watch(session);
    return request.call(this, session, ...rest);
  };
  return (path) => {
    const observation = seen.get(path);
    seen.delete(path);
    return observation;
  };
}

/**
 * node-apn's request timeout (`stream.setTimeout`, then a cancel it reports as a timeout, maybe
 * delivered) would also strike a request still queued behind APNs's limit of concurrent streams,
 * which has not left, or one that left just before: it is counted instead from when the request
 * went out, by the session record's deadlines, as the other providers' requests are. Their length
 * is the record's: create-apns.ts gives node-apn the same `requestTimeout`.
 */
function keepWaitingWhileQueued(record: SessionRecord, stream: ClientHttp2Stream): void {
  const setStreamTimeout = stream.setTimeout.bind(stream);
  stream.setTimeout = (ms: number, onTimeout?: () => void) => {
    if (!onTimeout) return setStreamTimeout(ms);
    record.startDeadline(stream, onTimeout);
    return stream;
  };
}
