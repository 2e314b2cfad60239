import { constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { unsentError } from './no-answer.js';

/** What the transport proves of a request stream that ended without an answer. */
export interface UnansweredStream {
  /** A frame of the request failed to go out (Node's `frameError`): the server never had it whole. */
  frameFailed: boolean;
  /**
   * The server refused it unread (RFC 9113 §8.7): it reset the stream with REFUSED_STREAM, or the
   * stream's frames failed after the server's GOAWAY, which refuses every stream it did not process.
   */
  refused: boolean;
  /** It was still queued behind the server's limit of concurrent streams when its connection ended: it never left. */
  unsent: boolean;
}

/**
 * The request waits unsent behind the server's limit of concurrent streams: nghttp2 has not
 * written its HEADERS, and keeps its stream idle. APNs lowers that limit to 1 on a connection
 * whenever it rejects a notification (pushy #732), so a batch can queue for a while.
 */
export function stillQueued(stream: ClientHttp2Stream): boolean {
  return stream.state?.state === constants.NGHTTP2_STREAM_STATE_IDLE;
}

/** Streams still queued when their connection ended. */
const endedUnsent = new WeakSet<ClientHttp2Stream>();
/** Sessions whose server sent GOAWAY. */
const goingAway = new WeakSet<ClientHttp2Session>();
/** The streams of each watched session not closed yet. */
const openStreams = new WeakMap<ClientHttp2Session, Set<ClientHttp2Stream>>();

/**
 * Watches a request stream from its opening; the function returned judges it once it has ended
 * (its reset code and any frame error are known by its `error` or `close` event). One rule for
 * all three providers: web push's own streams, APNs's through node-apn, FCM's through firebase-admin.
 */
export function watchUnanswered(session: ClientHttp2Session, stream: ClientHttp2Stream): () => UnansweredStream {
  let streams = openStreams.get(session);
  if (!streams) openStreams.set(session, (streams = watchSession(session)));
  streams.add(stream);
  stream.once('close', () => streams.delete(stream));
  let frameFailed = false;
  stream.once('frameError', () => (frameFailed = true));
  return () => ({
    frameFailed,
    refused: stream.rstCode === constants.NGHTTP2_REFUSED_STREAM || (frameFailed && goingAway.has(session)),
    unsent: endedUnsent.has(stream),
  });
}

function watchSession(session: ClientHttp2Session): Set<ClientHttp2Stream> {
  const streams = new Set<ClientHttp2Stream>();
  session.once('goaway', () => goingAway.add(session));
  // When its connection fails or closes, Node destroys the session's streams with the connection's
  // error, and a stream no longer says whether it had left: one still queued had not, and is ended
  // first with an error that says so, before Node ends it as maybe delivered.
  const endUnsent = () => endQueuedStreams(session);
  try {
    session.socket.prependOnceListener('error', endUnsent);
    session.socket.prependOnceListener('close', endUnsent);
  } catch {
    // A session with no socket left (Node's ERR_HTTP2_SOCKET_UNBOUND): its streams stay judged as before, maybe sent.
  }
  return streams;
}

/** The session's request streams not closed yet, queued behind the server's limit or out. */
export function openStreamCount(session: ClientHttp2Session): number {
  return openStreams.get(session)?.size ?? 0;
}

/**
 * Ends the session's streams still queued behind the server's limit, as never sent: before the
 * session is destroyed (a stall, a GOAWAY's grace run out, shutdown) or its connection ends,
 * which would end them with an error that no longer tells whether they left.
 */
export function endQueuedStreams(session: ClientHttp2Session): void {
  for (const stream of openStreams.get(session) ?? []) {
    if (stillQueued(stream)) {
      endedUnsent.add(stream);
      stream.destroy(unsentError());
    }
  }
}
