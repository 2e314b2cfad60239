import http2 from 'node:http2';
import type { OpenSessions } from '../open-sessions.js';
import { closedWithoutAnswer, unsentError } from '../no-answer.js';
import { parseRetryAfter } from '../parse-retry-after.js';
import { RequestDeadlines } from '../request-deadlines.js';
import { watchUnanswered } from '../unanswered-stream.js';

/**
 * firebase-admin 13 sends through `http2.connect('https://fcm.googleapis.com')` with nothing
 * injectable: no endpoint setting, no agent. This module is the one place that reaches into
 * that call, opened once per sendEach, for these reasons:
 *  - an endpoint override (a proxy, the emulator): connect there instead, trusting `ca`, and
 *    rewrite the `:scheme` pseudo-header firebase-admin sends as "https:" (nghttp2 servers reset it);
 *  - Retry-After: firebase-admin 13 drops response headers, so each session records the largest
 *    `retry-after` it saw for the batch that opened it;
 *  - whether the session was ever established, and how it failed: a request on a session that
 *    never connected provably never reached FCM, which firebase-admin's errors do not say;
 *  - pushcast's own request deadline (firebase-admin's is a fixed 15 s), and every session kept
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
  /** The session's TLS handshake completed: its requests may have reached FCM. */
  established: boolean;
  /** What the session failed with, if it did (a refused connection, an untrusted certificate). */
  sessionError?: Error;
  retryAfterMs?: number;
}

/** What the provider asks of the session its sendEach opens. */
export interface SessionNeeds {
  /** A request with no answer after this long is abandoned (its stream reset): maybe delivered. */
  requestTimeoutMs: number;
  sessions: OpenSessions;
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
  const observation: SessionObservation = { hooked: false, established: false };
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
  const session = redirect ? originalConnect(redirect.endpoint, { ...options, ca: redirect.ca ?? options?.ca }, listener) : originalConnect(authority, options ?? {}, listener);
  if (redirect) {
    const plain = session.request.bind(session);
    session.request = ((headers: http2.OutgoingHttpHeaders, requestOptions?: http2.ClientSessionRequestOptions) =>
      plain({ ...headers, ':scheme': 'https' }, requestOptions)) as typeof session.request;
  }
  if (!caller) return session;
  const { observation, needs } = caller;
  observation.hooked = true;
  needs.sessions.add(session);
  session.once('connect', () => (observation.established = true));
  session.once('error', (error) => (observation.sessionError = error));
  // pushcast's deadline (firebase-admin's own is a fixed 15 s).
  const deadlines = new RequestDeadlines(needs.requestTimeoutMs);
  const request = session.request.bind(session);
  session.request = ((headers: http2.OutgoingHttpHeaders, requestOptions?: http2.ClientSessionRequestOptions) => {
    const stream = request(headers, requestOptions);
    deadlines.add(stream);
    const unanswered = watchUnanswered(session, stream);
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
    return stream;
  }) as typeof session.request;
  return session;
}
