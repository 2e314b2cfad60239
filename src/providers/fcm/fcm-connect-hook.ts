import http2 from 'node:http2';
import { closedWithoutAnswer, unsentError } from '../http2/no-answer.js';
import { parseRetryAfter } from '../http2/parse-retry-after.js';
import type { SessionRecord } from '../http2/session-record.js';
import type { KeptSessions, WatchedRequest } from './kept-sessions.js';

/**
 * firebase-admin 13 sends through `http2.connect('https://fcm.googleapis.com')` with nothing
 * injectable: no endpoint setting, no agent. This module is the one place that reaches into
 * that call, which sendEach makes once per call, for these reasons:
 *  - a session an earlier call left open is handed over instead of a new one (kept-sessions.ts);
 *  - an endpoint override (a proxy, the emulator): connect there instead, trusting `ca`, and
 *    rewrite the `:scheme` pseudo-header firebase-admin sends as "https:" (nghttp2 servers reset it);
 *  - Retry-After: firebase-admin 13 drops response headers, so each session records the largest
 *    `retry-after` it saw for the call's batch;
 *  - whether the session was ever established (its record says, http2/session-record.ts), and
 *    how it failed: a request on a session that never connected provably never reached FCM, which
 *    firebase-admin's errors do not say;
 *  - pushcast's own request deadline (firebase-admin's is a fixed 15 s), and every session listed
 *    in `OpenSessions` so closing the provider really closes it.
 * It wraps the CommonJS `http2` object firebase-admin requires, so the real HTTP/2 code path runs.
 * test/fcm-redirect.test.ts fails loudly if a firebase-admin upgrade bypasses it.
 */

const fcmOrigin = 'https://fcm.googleapis.com';

export interface FcmRedirect {
  endpoint: string;
  ca?: string;
}

/** What one sendEach call's session saw. */
export interface SessionObservation {
  /** sendEach opened its session through this hook. */
  hooked: boolean;
  /** The record of the session the call was lent. */
  record?: SessionRecord;
  /** The session's TLS handshake completed (its record says): its requests may have reached FCM. */
  readonly established: boolean;
  /** What the session failed with, if it did (a refused connection, an untrusted certificate). */
  sessionError?: Error;
  retryAfterMs?: number;
  /**
   * Tokens whose request got a 404 that is not FCM's word on the token (its body names no
   * UNREGISTERED): firebase-admin reads any NOT_FOUND as an unregistered token, but this one came
   * from a path that is not FCM's send endpoint (a wrong project id, a proxy), and the token may live.
   */
  foreignNotFound: Set<string>;
}

/** What the provider gives the hook for its sendEach calls. */
export interface SessionNeeds {
  /** The sessions earlier calls left open, each with pushcast's request deadline. */
  kept: KeptSessions;
}

const originalConnect = http2.connect;
let redirect: FcmRedirect | undefined;
let current: { observation: SessionObservation; needs: SessionNeeds } | undefined;
let installs = 0;

export function installFcmConnectHook(options: { redirect?: FcmRedirect }): () => void {
  if (installs > 0 && JSON.stringify(options.redirect) !== JSON.stringify(redirect)) {
    throw new Error('two FCM providers with different endpoints in one process are not supported');
  }
  redirect = options.redirect;
  if (installs++ === 0) (http2 as { connect: typeof http2.connect }).connect = hookedConnect as typeof http2.connect;
  return () => {
    if (--installs === 0) {
      (http2 as { connect: typeof http2.connect }).connect = originalConnect;
      redirect = undefined;
    }
  };
}

/** Runs `send` (which must call sendEach synchronously) and returns what its session observed. */
export function observeSession<T>(send: () => T, needs: SessionNeeds): { result: T; observation: SessionObservation } {
  const observation: SessionObservation = {
    hooked: false,
    foreignNotFound: new Set(),
    get established() {
      return this.record?.connected ?? false;
    },
  };
  current = { observation, needs };
  try {
    return { result: send(), observation };
  } finally {
    current = undefined;
  }
}

function hookedConnect(authority: string | URL, options?: http2.SecureClientSessionOptions, listener?: () => void): http2.ClientHttp2Session {
  if (!String(authority).startsWith(fcmOrigin)) return originalConnect(authority, options ?? {}, listener);
  const caller = current;
  current = undefined;
  const connect = () =>
    redirect ? originalConnect(redirect.endpoint, { ...options, ca: redirect.ca ?? options?.ca }, listener) : originalConnect(authority, options ?? {}, listener);
  if (!caller) {
    const session = connect();
    if (redirect) {
      const plain = session.request.bind(session);
      session.request = ((headers: http2.OutgoingHttpHeaders, requestOptions?: http2.ClientSessionRequestOptions) =>
        plain(withScheme(headers), requestOptions)) as typeof session.request;
    }
    return session;
  }
  const { observation, needs } = caller;
  observation.hooked = true;
  const lease = needs.kept.lease(connect, watchedRequest(observation));
  observation.record = lease.record;
  lease.once('error', (error: Error) => (observation.sessionError = error));
  return lease as unknown as http2.ClientHttp2Session;
}

/** firebase-admin sends `:scheme: https:`, which Google accepts and nghttp2 servers (a proxy, the emulator) reset. */
function withScheme(headers: http2.OutgoingHttpHeaders): http2.OutgoingHttpHeaders {
  return redirect ? { ...headers, ':scheme': 'https' } : headers;
}

/** One of a call's requests, with pushcast's deadline, its Retry-After observed, and an end firebase-admin always hears. */
function watchedRequest(observation: SessionObservation): WatchedRequest {
  return (record, headers, requestOptions) => {
    const stream = record.session.request(withScheme(headers), requestOptions);
    // pushcast's deadline (firebase-admin's own is a fixed 15 s).
    record.startDeadline(stream);
    const unanswered = record.watch(stream);
    watchNotFound(stream, observation.foreignNotFound);
    let answered = false;
    stream.once('response', (responseHeaders) => {
      answered = true;
      const retryAfterMs = parseRetryAfter(responseHeaders['retry-after']);
      if (retryAfterMs !== undefined) observation.retryAfterMs = Math.max(observation.retryAfterMs ?? 0, retryAfterMs);
    });
    // firebase-admin settles its call on an answer's end or on an error, but ignores the error of a
    // stream that is `aborted` (refused before its body was all written, as under a GOAWAY), and a
    // stream reset with NO_ERROR before any answer tells it nothing: its call would never settle,
    // and with no handle left the process would end mid-campaign. Such a stream gets the error it lacked.
    // ('end' is emitted before 'close', and so is 'error', after `aborted` is set.)
    stream.once('close', () => {
      const settled = (answered && stream.readableEnded) || (stream.errored != null && !stream.aborted);
      if (settled) return;
      Object.defineProperty(stream, 'aborted', { value: false, configurable: true });
      const { refused, unsent } = unanswered();
      stream.emit('error', unsent ? unsentError() : closedWithoutAnswer(refused ? http2.constants.NGHTTP2_REFUSED_STREAM : stream.rstCode));
    });
    return { stream, answered: () => answered && stream.readableEnded && stream.errored == null };
  };
}

/** FCM's own 404 about a token carries this in its body (an FcmError detail, or the status). */
const unregisteredWord = /"(?:errorCode|status)"\s*:\s*"UNREGISTERED"/;

/** Notes the request's token in `foreignNotFound` if its answer is a 404 whose body is not FCM's word on the token. */
function watchNotFound(stream: http2.ClientHttp2Stream, foreignNotFound: Set<string>): void {
  // The request's body, read only if its answer is a 404: parsing every one would cost every message.
  let request: unknown;
  const end = stream.end.bind(stream) as (...args: unknown[]) => http2.ClientHttp2Stream;
  stream.end = ((...args: unknown[]) => {
    request = args[0];
    return end(...args);
  }) as typeof stream.end;
  stream.once('response', (headers) => {
    if (Number(headers[':status']) !== 404) return;
    const body: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => body.length < 64 && body.push(chunk));
    stream.once('end', () => {
      if (unregisteredWord.test(Buffer.concat(body).toString('utf8'))) return;
      try {
        const token = (JSON.parse(String(request)) as { message?: { token?: unknown } }).message?.token;
        if (typeof token === 'string') foreignNotFound.add(token);
      } catch {
        // not the JSON firebase-admin writes: nothing to note
      }
    });
  });
}
