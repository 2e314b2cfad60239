import http2 from 'node:http2';
import { parseRetryAfter } from '../parse-retry-after.js';

/**
 * firebase-admin 13 sends through `http2.connect('https://fcm.googleapis.com')` with nothing
 * injectable: no endpoint setting, no agent. This module is the one place that reaches into
 * that call, for two reasons:
 *  - an endpoint override (a proxy, the emulator): connect there instead, trusting `ca`, and
 *    rewrite the `:scheme` pseudo-header firebase-admin sends as "https:" (nghttp2 servers reset it);
 *  - Retry-After: firebase-admin 13 drops response headers, so each session records the largest
 *    `retry-after` it saw for the batch that opened it.
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
  connected: boolean;
  retryAfterMs?: number;
}

const originalConnect = http2.connect;
let redirect: FcmRedirect | undefined;
let current: SessionObservation | undefined;
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
export function observeSession<T>(send: () => T): { result: T; observation: SessionObservation } {
  const observation: SessionObservation = { connected: false };
  current = observation;
  try {
    return { result: send(), observation };
  } finally {
    current = undefined;
  }
}

function hookedConnect(authority: string | URL, options?: http2.SecureClientSessionOptions, listener?: () => void): http2.ClientHttp2Session {
  if (!String(authority).startsWith(fcmOrigin)) return originalConnect(authority, options ?? {}, listener);
  const observation = current;
  current = undefined;
  if (observation) observation.connected = true;
  const session = redirect
    ? originalConnect(redirect.endpoint, { ...options, ca: redirect.ca ?? options?.ca }, listener)
    : originalConnect(authority, options ?? {}, listener);
  const request = session.request.bind(session);
  session.request = ((headers: http2.OutgoingHttpHeaders, requestOptions?: http2.ClientSessionRequestOptions) => {
    const stream = request(redirect ? { ...headers, ':scheme': 'https' } : headers, requestOptions);
    if (observation) {
      stream.on('response', (responseHeaders) => {
        const retryAfterMs = parseRetryAfter(responseHeaders['retry-after']);
        if (retryAfterMs !== undefined) observation.retryAfterMs = Math.max(observation.retryAfterMs ?? 0, retryAfterMs);
      });
    }
    return stream;
  }) as typeof session.request;
  return session;
}
