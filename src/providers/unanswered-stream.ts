import { constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';

/** What the transport proves of a request stream that ended without an answer. */
export interface UnansweredStream {
  /** A frame of the request failed to go out (Node's `frameError`): the server never had it whole. */
  frameFailed: boolean;
  /**
   * The server refused it unread (RFC 9113 §8.7): it reset the stream with REFUSED_STREAM, or the
   * stream's frames failed after the server's GOAWAY, which refuses every stream it did not process.
   */
  refused: boolean;
}

/** Sessions whose server sent GOAWAY, and those already watched for it. */
const goingAway = new WeakSet<ClientHttp2Session>();
const watched = new WeakSet<ClientHttp2Session>();

/**
 * Watches a request stream from its opening; the function returned judges it once it has ended
 * (its reset code and any frame error are known by its `error` or `close` event). One rule for
 * all three providers: web push's own streams, APNs's through node-apn, FCM's through firebase-admin.
 */
export function watchUnanswered(session: ClientHttp2Session, stream: ClientHttp2Stream): () => UnansweredStream {
  if (!watched.has(session)) {
    watched.add(session);
    session.once('goaway', () => goingAway.add(session));
  }
  let frameFailed = false;
  stream.once('frameError', () => (frameFailed = true));
  return () => ({ frameFailed, refused: stream.rstCode === constants.NGHTTP2_REFUSED_STREAM || (frameFailed && goingAway.has(session)) });
}
