import type { KeyObject } from 'node:crypto';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { EmulatorCredentials } from './emulator-credentials.js';
import type { EmulatorState } from './emulator-state.js';
import type { RealAnswer } from './real-answers.js';
import type { VerifiedJwts } from './verify-jwt.js';
import type { ProviderTokenJudge } from './judge-provider-tokens.js';
import type { FcmTopics } from './handle-fcm-topics.js';
import type { ApnsChannels } from './handle-apns-channels.js';

/**
 * The SETTINGS_MAX_CONCURRENT_STREAMS a connection is offered: FCM takes 100 concurrent streams on
 * a connection (firebase-admin-node #2488; #2943, GOAWAY "exceeded_max_concurrent_streams"), as
 * Google's front ends do for web push too, and RFC 9113 §6.5.2 asks for no fewer.
 */
export const connectionStreamLimit = 100;
/**
 * APNs offers about a thousand (pushy #709 read 1,500 in its initial SETTINGS; openradar 27870881,
 * 500). The emulator serves every provider on one origin, so it raises an APNs connection to this
 * on its first APNs request (and lowers it for a while after a rejection, as APNs does).
 */
export const apnsStreamLimit = 1000;

/** One request as every handler sees it, whether it came over HTTP/2 or HTTP/1.1. */
export interface Exchange {
  req: Http2ServerRequest;
  res: Http2ServerResponse;
  body: Buffer;
  /** The HTTP/2 session and stream id the request came on, taken when it arrived (a closed stream forgets them). */
  session?: object;
  streamId?: number;
  /** The host the client meant (its Host or :authority), which a redirected client keeps. */
  host: string;
  path: string;
  /** How long the answer waits after the request was processed: latency, and more for a late one. */
  delayMs: number;
}

export interface EmulatorContext {
  state: EmulatorState;
  credentials: EmulatorCredentials;
  /** Bearer tokens the OAuth endpoint issued, which the FCM API accepts. */
  accessTokens: Set<string>;
  /** VAPID public key subscriptions were made with; a request signed with another key gets 403. */
  applicationServerKey?: string;
  /** APNs topics the credentials may send to; empty allows any. */
  apnsTopics: Set<string>;
  /** The public half of the APNs .p8 key, that provider tokens are verified with. */
  apnsPublicKey: KeyObject;
  /** APNs provider tokens and VAPID headers this emulator verified (its own: two emulators never share what they trust). */
  verifiedJwts: VerifiedJwts;
  /** APNs's expiry and renewal rules for provider tokens, on the emulator's clock. */
  providerTokens: ProviderTokenJudge;
  /** FCM's topics: messages sent to topics and conditions, and who is subscribed (the Instance ID API). */
  fcmTopics: FcmTopics;
  /** APNs's broadcast channels: the channels of each app, and the broadcasts taken. */
  apnsChannels: ApnsChannels;
  /** Cuts the connection a request came on, without a word: its TCP socket destroyed under it at once, or (`end`) closed after what was written. */
  cutConnection(exchange: Exchange, how?: 'destroy' | 'end'): void;
}

/**
 * Answers a request that was processed already: after `delayMs`, and only if the client still
 * listens. A client that gave up (a timeout, a reset) gets nothing, but what it sent counts.
 */
export function respond(exchange: Exchange, status: number, headers: Record<string, string>, body = ''): void {
  const answer = () => {
    const { res } = exchange;
    if (res.writableEnded || res.stream?.destroyed || exchange.req.socket?.destroyed) return;
    try {
      res.writeHead(status, headers);
      res.end(body);
    } catch {
      // the stream closed between the check and the write: the client is gone
    }
  };
  if (exchange.delayMs > 0) setTimeout(answer, exchange.delayMs).unref();
  else answer();
}

/** One of the real services' own answers, body for body. */
export function sendRealAnswer(exchange: Exchange, answer: RealAnswer, headers: Record<string, string> = {}): void {
  respond(exchange, answer.status, { 'content-type': answer.contentType, ...headers }, answer.body);
}

export function sendJson(exchange: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  respond(exchange, status, { ...(text ? { 'content-type': 'application/json; charset=UTF-8' } : {}), ...headers }, text);
}

/** Sessions that sent GOAWAY, with the last stream id they promised to process. */
const lastProcessedStream = new WeakMap<object, number>();
/** The highest stream id each session has processed (answered, or is answering). */
const highestProcessed = new WeakMap<object, number>();

/** Notes that a request is being processed: a later GOAWAY must not disown it. */
export function noteProcessing(exchange: Exchange): void {
  if (!exchange.session || exchange.streamId === undefined) return;
  highestProcessed.set(exchange.session, Math.max(highestProcessed.get(exchange.session) ?? 0, exchange.streamId));
}

/**
 * Whether a request arrived on a session after it sent GOAWAY, above the last stream it promised
 * to process: the client was told this stream was not processed and will send it again, so the
 * emulator must refuse it rather than deliver it (as an HTTP/2 server does, RFC 9113 §6.8).
 * A request that arrived whole is otherwise processed, even if its client reset it since:
 * a provider acts on what it received, whatever becomes of the answer.
 */
export function refusedAfterGoaway(exchange: Exchange): boolean {
  if (exchange.req.httpVersion !== '2.0') return false;
  const last = exchange.session ? lastProcessedStream.get(exchange.session) : undefined;
  if (last === undefined || exchange.streamId === undefined || exchange.streamId <= last) {
    noteProcessing(exchange);
    return false;
  }
  const stream = exchange.req.stream;
  if (stream && !stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_REFUSED_STREAM);
  return true;
}

/**
 * A GOAWAY storm: every stream refused unread (RST_STREAM REFUSED_STREAM) under a GOAWAY, as a
 * front end being drained answers; the client closes the connection. The GOAWAY asks for
 * last-stream-id 0, but Node sends the last stream it has read in place of 0, so it is each
 * stream's own refusal that tells the client it was not processed: the session stays open until
 * the client closes it, or streams read after it closed would end unanswered and unrefused,
 * maybe processed for all the client can tell. (Sending the GOAWAY before any stream is read
 * crashed Node 20 with heap corruption.) Returns false off HTTP/2.
 */
export function refuseAll(exchange: Exchange): boolean {
  const session = exchange.req.stream?.session;
  if (exchange.req.httpVersion !== '2.0' || !session) return false;
  if (!lastProcessedStream.has(session) && !session.closed && !session.destroyed) {
    lastProcessedStream.set(session, 0);
    session.goaway(constants.NGHTTP2_NO_ERROR, 0);
  }
  const stream = exchange.req.stream;
  if (stream && !stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_REFUSED_STREAM);
  return true;
}

/**
 * Drops the connection before answering, as a provider's front end does under load or on
 * deploys: HTTP/2 gets a GOAWAY that says this stream was not processed (so the client may
 * safely send it again), HTTP/1.1 a reset socket. Nothing is recorded as delivered for this
 * request. With `dropBy: 'cut'`, HTTP/2 loses its connection without a GOAWAY, as when a load
 * balancer or the network fails: requests processed and not yet answered lose their answers,
 * and the client is told nothing of the rest.
 */
export function dropConnection(context: EmulatorContext, exchange: Exchange): void {
  if (context.state.behaviour.dropBy === 'cut') return context.cutConnection(exchange);
  const stream = exchange.req.stream;
  const session = stream?.session;
  if (exchange.req.httpVersion === '2.0' && stream && session && exchange.streamId !== undefined) {
    // The last stream id must cover every stream already answered: nghttp2 sends GOAWAY ahead of
    // queued responses, and a client drops answers to streams above the id it was given.
    const lastStreamId = highestProcessed.get(session) ?? 0;
    if (!lastProcessedStream.has(session) && !session.closed && !session.destroyed) {
      lastProcessedStream.set(session, lastStreamId);
      // One GOAWAY only: session.close() would send a second with a higher last stream id,
      // a protocol error that makes clients drop answers they were owed. The client closes.
      session.goaway(constants.NGHTTP2_NO_ERROR, lastStreamId);
    }
    if (!stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_REFUSED_STREAM);
    return;
  }
  exchange.req.socket.destroy();
}

/** Headers worth recording, without the ones the request did not carry. */
export function compact(headers: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** The Retry-After header of a throttling answer: the forced answer's own, or the emulator's. */
export function retryAfterHeader(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}
