import { constants, type ClientHttp2Stream } from 'node:http2';

/** What the transport proves of a request stream that ended without an answer (SessionRecord.watch judges it). */
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
  /** It may have reached the server: its session connected, it was not still queued at the end, and no frame of it failed to go out. */
  written: boolean;
}

/**
 * The request waits unsent behind the server's limit of concurrent streams: nghttp2 has not
 * written its HEADERS, and keeps its stream idle. APNs lowers that limit to 1 on a connection
 * whenever it rejects a notification (pushy #732), so a batch can queue for a while.
 */
export function stillQueued(stream: ClientHttp2Stream): boolean {
  return stream.state?.state === constants.NGHTTP2_STREAM_STATE_IDLE;
}
