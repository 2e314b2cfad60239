import { createPublicKey } from 'node:crypto';
import { constants, createSecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import { once } from 'node:events';
import { createServer as createHttp1Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { PushcastConfig } from '../config/config.js';
import { makeCredentials, type EmulatorCredentials } from './emulator-credentials.js';
import { EmulatorState, type Attempt, type Delivered, type EmulatorStats } from './emulator-state.js';
import type { EmulatedProvider as ProviderName } from './emulated.js';
import { connectionStreamLimit, refuseAll, refusedAfterGoaway, sendJson, type EmulatorContext, type Exchange } from './exchange.js';
import { defaultBehaviour, resetCodes, type Behaviour, type ForcedAnswer } from './fate.js';
import { handleApns } from './handle-apns.js';
import { ApnsChannels, handleApnsChannels, isApnsChannelPath } from './handle-apns-channels.js';
import { handleFcmSend, handleOAuthToken } from './handle-fcm.js';
import { FcmTopics, handleIidBatch } from './handle-fcm-topics.js';
import { emulatorAndroidAppId, handleFcmDeliveryData } from './handle-fcm-data.js';
import { handleWebPush } from './handle-webpush.js';
import { ProviderTokenJudge } from './judge-provider-tokens.js';
import { serveResetsFirst, transportOf } from './resets-first.js';
import { VerifiedJwts } from './verify-jwt.js';

export interface EmulatorOptions extends Partial<Omit<Behaviour, 'dead' | 'forced' | 'stall'>> {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Tokens or web push endpoints always answered as unregistered. */
  dead?: Iterable<string>;
  /** Answers forced per token, e.g. { status: 400, reason: 'SENDER_ID_MISMATCH' }. */
  forced?: Record<string, ForcedAnswer>;
  /** Providers that take requests and never answer; `oauth`: FCM's OAuth token endpoint. */
  stall?: Iterable<ProviderName | 'oauth'>;
  /** Append every accepted message to this JSONL file. */
  logFile?: string;
  /** Keep accepted messages in memory for `delivered()` (default true; benchmarks turn it off). */
  keepDelivered?: boolean;
  /** Answer 403 to web push signed with another VAPID key than the emulator's. Default true. */
  checkApplicationServerKey?: boolean;
  /** Bundle ids the APNs key may send to; others get TopicDisallowed. Default: any. */
  apnsTopics?: string[];
  /** Offer HTTP/1.1 only (no h2 in ALPN), as a push service without HTTP/2 does: web push only, FCM and APNs need HTTP/2. */
  http1Only?: boolean;
}

export interface Emulator {
  /** The one origin that speaks FCM HTTP v1, OAuth, APNs and Web Push. */
  url: string;
  /** PEM of the emulator's self-signed certificate: what clients must trust. */
  ca: string;
  credentials: EmulatorCredentials;
  /** A pushcast configuration that sends everything here, with the emulator's credentials inline. */
  config(): PushcastConfig;
  delivered(): Delivered[];
  /** Every answer given, in order (kept with `keepDelivered`). */
  attemptLog(): Attempt[];
  stats(): EmulatorStats;
  reset(): void;
  /** Moves the emulator's clock ahead: the APNs provider tokens it saw age by `ms` (judge-provider-tokens.ts). Not undone by `reset`. */
  advanceClock(ms: number): void;
  /** Puts APNs's clock ahead of the sender's, as if the sender's were slow: every token it signs is that much older to APNs. Not undone by `reset`. */
  skewClock(ms: number): void;
  /** FCM's topics: the messages sent to topics and conditions, the subscriptions, the Instance ID batch requests (cleared by `reset`). */
  fcmTopics: FcmTopics;
  /** APNs's broadcast channels: each app's, and the broadcasts taken (cleared by `reset`). */
  apnsChannels: ApnsChannels;
  behaviour: Behaviour;
  close(): Promise<void>;
}

const maxBodyBytes = 1 << 20;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const behaviour: Behaviour = {
    ...defaultBehaviour,
    ...Object.fromEntries(Object.entries(options).filter(([key, value]) => key in defaultBehaviour && value !== undefined)),
    dead: new Set(options.dead ?? []),
    forced: new Map(Object.entries(options.forced ?? {})),
    stall: new Set(options.stall ?? []),
  };
  const apnsTopic = options.apnsTopics?.[0] ?? 'com.example.pushcast';
  const generated = await makeCredentials(host, apnsTopic);
  const state = new EmulatorState(behaviour, { keepDelivered: options.keepDelivered ?? true, logFile: options.logFile });

  const tls = {
    key: generated.tls.key,
    cert: generated.tls.cert,
    // APNs certificate auth: a client may present one; the APNs handler judges it.
    requestCert: true,
    rejectUnauthorized: false,
  };
  // Http2ServerRequest and Response mirror HTTP/1.1's: the handlers serve either.
  const server = options.http1Only
    ? (createHttp1Server(tls) as unknown as ReturnType<typeof createSecureServer>)
    : createSecureServer({
        ...tls,
        allowHTTP1: true, // web push and OAuth may come over HTTP/1.1; FCM and APNs come over HTTP/2
        settings: { maxConcurrentStreams: connectionStreamLimit },
        maxSessionMemory: 64,
        // Node's guards against abusive clients, which end a session mid-answers: a client whose
        // streams APNs refuses over a lowered limit (apnsThrottle) sends their DATA frames anyway,
        // each an "invalid frame" to Node, and a thousand of them closed the connection.
        maxSessionInvalidFrames: 1_000_000,
        maxSessionRejectedStreams: 1_000_000,
      });
  if (!options.http1Only) serveResetsFirst(server);
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined); // a client that goes away mid-stream is not the emulator's problem
  });
  // The TCP sockets under TLS, by peer: cutting one drops a connection without a word (dropBy 'cut').
  const tcpSockets = new Map<string, Socket>();
  const peerOf = (socket: { remoteAddress?: string; remotePort?: number }) => `${socket.remoteAddress}|${socket.remotePort}`;
  server.on('connection', (socket: Socket) => {
    const peer = peerOf(socket);
    tcpSockets.set(peer, socket);
    socket.once('close', () => tcpSockets.delete(peer));
  });
  server.on('secureConnection', (socket) => {
    state.stats.connections++;
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://${host === '::1' ? '[::1]' : host}:${port}`;

  const credentials: EmulatorCredentials = {
    ...generated,
    serviceAccount: {
      type: 'service_account',
      project_id: 'pushcast-emulator',
      private_key_id: 'emulator',
      private_key: generated.serviceAccountKey,
      client_email: 'pushcast@pushcast-emulator.iam.gserviceaccount.com',
      token_uri: `${url}/token`,
    },
  };
  const context: EmulatorContext = {
    state,
    credentials,
    accessTokens: new Set(),
    applicationServerKey: options.checkApplicationServerKey === false ? undefined : credentials.vapid.publicKey,
    apnsTopics: new Set(options.apnsTopics ?? []),
    apnsPublicKey: createPublicKey(credentials.apns.key),
    verifiedJwts: new VerifiedJwts(),
    providerTokens: new ProviderTokenJudge(),
    fcmTopics: new FcmTopics(),
    apnsChannels: new ApnsChannels(),
    cutConnection(exchange, how = 'destroy') {
      // HTTP/1.1 gives the TLS socket, HTTP/2 a view of its session's that cannot be destroyed.
      const socket = transportOf(exchange.session as Http2Session | undefined) ?? exchange.req.socket;
      const tcp = tcpSockets.get(peerOf(socket)) ?? socket;
      if (how === 'end') tcp.end();
      else tcp.destroy();
    },
  };

  /** Streams reset unanswered: never processed, whatever of them still arrives. */
  const resetUnanswered = new WeakSet<object>();
  server.on('stream', (stream, headers) => {
    const provider = providerOf(String(headers[':path'] ?? '').split('?')[0]);
    if (behaviour.resetUnanswered && provider) {
      state.stats.refused++;
      resetUnanswered.add(stream);
      stream.close(resetCodes[behaviour.resetUnanswered]);
    }
  });

  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const stream = req.stream as (typeof req.stream & { id?: number }) | undefined;
    // A stream Node's HTTP/2 layer refused as it came in (REFUSED_STREAM: after the session's
    // GOAWAY, or over its limit) still comes up as a request, already destroyed (seen on Node 24
    // and 26): the client was told it was not processed and sends it again, so it is not.
    if (stream?.destroyed && stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) {
      state.stats.refused++;
      return;
    }
    const arrival = { session: stream?.session, streamId: stream?.id };
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('error', () => undefined);
    // A request is processed as soon as it has arrived whole; only its answer waits (latency, late).
    req.on('end', () => {
      if (stream && resetUnanswered.has(stream)) return;
      const exchange: Exchange = {
        req,
        res,
        body: Buffer.concat(chunks),
        ...arrival,
        host: String(req.headers[':authority'] ?? req.headers.host ?? `${host}:${port}`),
        path: (req.url ?? '/').split('?')[0],
        delayMs: behaviour.latencyMs,
      };
      const provider = providerOf(exchange.path);
      const stalls = provider ? behaviour.stall.has(provider) : exchange.path === '/token' && behaviour.stall.has('oauth');
      if (stalls) {
        state.stats.stalled++;
        return; // held open, unanswered, unprocessed
      }
      // refuseAll refuses HTTP/2 requests only: web push over HTTP/1.1 is answered.
      if (provider && behaviour.goawayStorm && refuseAll(exchange)) {
        state.stats.refused++;
        return;
      }
      if (refusedAfterGoaway(exchange)) return;
      if (provider && exchange.session) state.overHttp2(provider, exchange.session);
      route(context, exchange);
    });
  });

  return {
    url,
    ca: generated.tls.cert,
    credentials,
    behaviour,
    config: () => ({
      fcm: { serviceAccount: JSON.stringify(credentials.serviceAccount), endpoint: url, androidAppId: emulatorAndroidAppId, dataEndpoint: url, topicsEndpoint: url },
      apns: { key: credentials.apns.key, keyId: credentials.apns.keyId, teamId: credentials.apns.teamId, topic: apnsTopic, endpoint: url, channelsEndpoint: url },
      webpush: { vapidPublicKey: credentials.vapid.publicKey, vapidPrivateKey: credentials.vapid.privateKey, subject: credentials.vapid.subject, endpoint: url },
      ca: generated.tls.cert,
    }),
    delivered: () => state.delivered,
    attemptLog: () => state.attemptLog,
    stats: () => state.stats,
    reset: () => {
      state.reset();
      context.fcmTopics.reset();
      context.apnsChannels.reset();
    },
    advanceClock: (ms) => context.providerTokens.advanceClock(ms),
    skewClock: (ms) => context.providerTokens.skewClock(ms),
    fcmTopics: context.fcmTopics,
    apnsChannels: context.apnsChannels,
    async close() {
      // A session its client is closing ends by itself: destroying one mid-close, over the JS
      // stream of serveResetsFirst, trips an internal assertion of Node 26 (an uncaught
      // ERR_INTERNAL_ASSERTION in JSStreamSocket.doWrite). Those get a moment; the rest are destroyed.
      const ended = [...sessions].map((session) => once(session, 'close').catch(() => undefined));
      await Promise.race([Promise.all(ended), new Promise((resolve) => setTimeout(resolve, 200))]);
      for (const session of sessions) session.destroy();
      server.close();
      await Promise.race([once(server, 'close'), new Promise((resolve) => setTimeout(resolve, 1000))]);
      await state.close();
    },
  };
}

/** The provider a request path belongs to; undefined for the OAuth endpoint and the emulator's own. */
function providerOf(path: string): ProviderName | undefined {
  if (path === '/token' || path.startsWith('/_emulator/') || path.startsWith('/v1beta1/') || path.startsWith('/iid/')) return undefined;
  if (path.startsWith('/v1/projects/')) return 'fcm';
  if (path.startsWith('/3/device/') || isApnsChannelPath(path)) return 'apns';
  return 'webpush';
}

const handlers: Record<ProviderName, (context: EmulatorContext, exchange: Exchange) => void> = { fcm: handleFcmSend, apns: handleApns, webpush: handleWebPush };

function route(context: EmulatorContext, exchange: Exchange): void {
  const { path } = exchange;
  if (path === '/token') return handleOAuthToken(context, exchange);
  if (path.startsWith('/v1beta1/')) return handleFcmDeliveryData(context, exchange);
  if (path.startsWith('/iid/')) return handleIidBatch(context, exchange);
  if (path === '/_emulator/stats') return sendJson(exchange, 200, context.state.stats);
  if (path === '/_emulator/delivered') return sendJson(exchange, 200, context.state.delivered);
  if (path === '/_emulator/reset' && exchange.req.method === 'POST') {
    context.state.reset();
    context.fcmTopics.reset();
    context.apnsChannels.reset();
    return sendJson(exchange, 204, undefined);
  }
  if (isApnsChannelPath(path)) return handleApnsChannels(context, exchange);
  const provider = providerOf(path);
  if (!provider) return sendJson(exchange, 404, { reason: 'not-found' });
  return handlers[provider](context, exchange);
}
