import type { Outcome } from '../../domain/outcome.js';

/**
 * A request that got no HTTP answer: what can be proven about whether it reached the provider.
 * Providers act on a request as soon as it arrives, so only what provably never arrived (or was
 * refused unread) may be sent again; anything else may have been delivered and is `uncertain`.
 */

/** The code of a request that provably never left (unsentError). */
const unsentCode = 'PUSHCAST_STREAM_UNSENT';

/** Node error codes of a request that never left: no connection, or a stream that was never opened. */
const neverSentCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'ERR_HTTP2_STREAM_CANCEL', // "the pending stream has been canceled": queued, never sent
  'ERR_HTTP2_GOAWAY_SESSION', // a new stream on a session that had received GOAWAY
  'ERR_HTTP2_INVALID_SESSION', // a new stream on a destroyed session
  unsentCode, // still queued when its connection ended, or still waiting for one
]);

/** OpenSSL's verdicts on a server certificate, as codes and as the messages clients keep. */
const certificateCodes =
  /\b(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REJECTED|CERT_REVOKED|CERT_SIGNATURE_FAILURE|INVALID_CA|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)\b/;
const certificateMessages =
  /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate has expired|certificate is not yet valid|does not match certificate's altnames/i;

/** HTTP/2 error codes (RFC 9113 §7), as Node names them in its stream errors. */
const http2ErrorCodes = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL'];

/** The error of a stream that closed with no answer, worded as Node words it: REFUSED_STREAM means unprocessed (RFC 9113 §8.7). */
export function closedWithoutAnswer(rstCode: number | undefined): Error {
  const name = rstCode === undefined ? 'unknown' : `NGHTTP2_${http2ErrorCodes[rstCode] ?? rstCode}`;
  return Object.assign(new Error(`Stream closed with no answer, error code ${name}`), { code: 'ERR_HTTP2_STREAM_ERROR' });
}

/** The error of a request that never left: by default, a stream still queued when its connection ended. */
export function unsentError(why = "never sent: still queued behind the server's limit of concurrent streams when the connection ended"): Error {
  return Object.assign(new Error(why), { code: unsentCode });
}

/** An HTTP/2 stream the server refused unread: RFC 9113 §8.7 guarantees it was not processed. */
const refusedStream = /NGHTTP2_REFUSED_STREAM/;

export interface NoAnswerContext {
  /** The request reached the wire: false when its connection was never established. */
  written?: boolean;
  /**
   * The server refused the stream unread: it reset it with REFUSED_STREAM, or its headers could not
   * go out because the server had sent GOAWAY (seen by the transport, whatever the client reports).
   */
  refused?: boolean;
}

export function classifyNoAnswer(error: unknown, context: NoAnswerContext = {}): Outcome {
  const { codes, text } = describeError(error);
  const detail = text.slice(0, 300) || undefined;
  if (codes.some((code) => certificateCodes.test(code)) || certificateCodes.test(text) || certificateMessages.test(text)) {
    return {
      kind: 'fatal',
      reason: 'untrusted-certificate',
      fix: `the server's TLS certificate was refused (${rootCause(text)}): if the endpoint is a proxy or the emulator, set ca to the PEM of the authority that signed its certificate; otherwise check this machine's clock and CA certificates${systemStoreAdvice}`,
    };
  }
  if (context.refused || refusedStream.test(text)) return { kind: 'retryable', reason: 'refused-stream', because: 'refused', detail };
  if (context.written === false || codes.some((code) => neverSentCodes.has(code)) || [...neverSentCodes].some((code) => text.includes(code))) {
    return { kind: 'retryable', reason: 'connection-failed', because: 'not-sent', detail };
  }
  return { kind: 'uncertain', reason: /time(d)? ?out|ETIMEDOUT/i.test(text) ? 'timeout' : 'no-answer', detail };
}

/** Every code and message along an error's causes (Node's `cause`, VError's `jse_cause`). */
function describeError(error: unknown): { codes: string[]; text: string } {
  const codes: string[] = [];
  const texts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'string') {
      texts.push(current);
      break;
    }
    const { code, message, cause, jse_cause } = current as { code?: unknown; message?: unknown; cause?: unknown; jse_cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (typeof message === 'string' && message) texts.push(message);
    current = jse_cause ?? (typeof cause === 'function' ? undefined : cause);
  }
  return { codes, text: [...new Set(texts)].join(' <- ') };
}

/**
 * The deepest cause's message: the most specific ("self-signed certificate"), without the advice
 * Node 24 and later add after a semicolon ("if the root CA is installed locally, try running
 * Node.js with --use-system-ca"): the message gives pushcast's one piece of advice.
 */
function rootCause(text: string): string {
  return text.split(' <- ').pop()!.split('; ')[0].slice(0, 120);
}

/**
 * Node 22.19+ and 24.6+ also trust the operating system's store (where a company's proxy authority
 * is installed) when NODE_USE_SYSTEM_CA=1 (Node's docs; nodejs/learn #79: not 22.15 or 24.0, which
 * have only --use-system-ca); Node 20 has neither.
 */
export function honoursSystemCaVariable(version = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 6) || (major === 22 && minor >= 19);
}
const systemStoreAdvice = honoursSystemCaVariable() ? ' (NODE_USE_SYSTEM_CA=1 adds the system store)' : '';
