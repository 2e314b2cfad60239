import { defaultApnsEnvironment } from '../../config/defaults.js';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import pLimit from 'p-limit';
import { isApnsTopic } from '../../audience/check-token.js';
import type { ApnsEnvironment } from '../../domain/recipient.js';
import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import { readSecret, readSecretBytes } from '../../config/read-secret.js';
import { requestTimeoutMs } from '../../config/timeouts.js';
import { ConfigError } from '../../errors.js';
import { checkProviderHost } from '../http2/check-provider-host.js';
import { leastBusy } from '../http2/least-busy.js';
import { OpenSessions } from '../http2/open-sessions.js';
import { quoted } from '../../domain/quote-value.js';
import { notSent, type Outcome } from '../../domain/outcome.js';
import type { Provider, Rendered } from '../provider.js';
import { classifyApnsFailure, type ApnsFailure } from './classify-apns.js';
import { observeRequests, type RequestObservation } from './observe-requests.js';
import type { ApnsPayload } from './payload.js';
import { apnsHosts } from './apns-host.js';
import { clockOff, sharedProviderToken, type ApnsTokenKey, type ProviderTokenSource } from './provider-token.js';
import { shareProviderToken } from './share-provider-token.js';

/** Requests in flight per HTTP/2 connection: node-apn itself would start them all and time the queued ones out. */
const apnsStreamsPerConnection = 100;
/**
 * HTTP/2 connections per environment. APNs cuts a connection to one concurrent stream whenever it
 * rejects a notification, until it accepts one (openradar 27870881, pushy #476 and #732), refusing
 * the streams already sent over that limit: on one connection, each dead token stalls every
 * request. Requests go to the connection with the fewest in flight, so a throttled one gets fewer;
 * another opens while every open one is busy. 20,000 recipients, 1% dead, 1 ms latency: 1
 * connection took 10.9-12.5 s and resent 3,377-3,817 refused streams, 4 took 5.8-5.9 s and resent
 * 623-854, 8 took 6.7 s.
 */
export const apnsConnections = 4;
/**
 * Recipients per engine batch. APNs takes one request per device, so a batch is only a journal
 * line; but the next batch waits for the capacity a whole batch frees, so batches well under the
 * in-flight limit keep requests flowing: 50 sent a 30k campaign 1.11x faster than 500.
 */
const apnsBatch = 50;

export type ApnModule = typeof import('@parse/node-apn');
export type ApnProvider = InstanceType<ApnModule['Provider']>;
/** One node-apn provider: its HTTP/2 connection, the requests it may carry at once, what its transport saw. */
type Connection = { provider: ApnProvider; limit: ReturnType<typeof pLimit>; observed: (path: string) => RequestObservation | undefined };

/** What every node-apn client of pushcast is made from: the config's APNs settings, read and checked once. */
export interface ApnsClientSettings {
  ca?: string[];
  endpoint?: URL;
  environment: ApnsEnvironment;
  timeoutMs: number;
  apn: ApnModule;
  /** The process's shared provider token (provider-token.ts), with token auth. */
  providerToken?: ProviderTokenSource;
  /**
   * A node-apn provider (one HTTP/2 connection) for `environment`, sent to apns.endpoint where it
   * is set, with the shared provider token; `extra`: more of node-apn's options. It never retries:
   * pushcast does, honouring Retry-After, and a second layer would push twice.
   */
  openProvider(environment: ApnsEnvironment, extra?: Record<string, unknown>): ApnProvider;
}

export async function readApnsClientSettings(config: PushcastConfig): Promise<ApnsClientSettings> {
  const settings = config.apns ?? {};
  const auth = readCredentials(settings);
  const ca = config.ca ? [readSecret('ca', config.ca)] : undefined;
  const endpoint = settings.endpoint ? parseEndpoint('apns.endpoint', settings.endpoint) : undefined;
  const environment: ApnsEnvironment = settings.environment ?? defaultApnsEnvironment;
  if (settings.topic !== undefined && !isApnsTopic(settings.topic)) {
    throw new ConfigError(`apns.topic must be the app's bundle id, such as com.example.app (ASCII letters, digits, - and .), not ${quoted(settings.topic)}`);
  }
  if (environment !== 'production' && environment !== 'sandbox') {
    throw new ConfigError(`apns.environment must be sandbox or production, not ${quoted(environment)}`);
  }
  const apn = ((await import('@parse/node-apn')) as unknown as { default: ApnModule }).default;
  // One provider token for every connection, of every thread (provider-token.ts).
  const providerToken = 'token' in auth ? sharedProviderToken(auth.token) : undefined;
  const timeoutMs = requestTimeoutMs(config);
  const openProvider = (environment: ApnsEnvironment, extra: Record<string, unknown> = {}): ApnProvider => {
    let provider: ApnProvider;
    try {
      provider = new apn.Provider({
        ...auth,
        production: environment === 'production',
        ...(endpoint ? { address: endpoint.hostname, port: Number(endpoint.port || 443) } : {}),
        ...extra,
        ca,
        connectionRetryLimit: 0,
        requestTimeout: timeoutMs,
      });
    } catch (error) {
      throw new ConfigError(`APNs: the credentials could not be used: ${(error as Error).message}`);
    }
    if (providerToken) shareProviderToken(provider, providerToken);
    return provider;
  };
  return { ca, endpoint, environment, timeoutMs, apn, providerToken, openProvider };
}

export async function createApnsProvider(config: PushcastConfig): Promise<Provider<'apns', ApnsPayload>> {
  const { ca, endpoint, environment: defaultEnvironment, timeoutMs, apn, providerToken, openProvider } = await readApnsClientSettings(config);
  const sessions = new OpenSessions(timeoutMs);

  // Providers (each one HTTP/2 connection) per environment, reused for the whole run.
  const connections = new Map<ApnsEnvironment, Connection[]>();
  const connectionFor = (environment: ApnsEnvironment): Connection => {
    let open = connections.get(environment);
    if (!open) connections.set(environment, (open = []));
    let connection = leastBusy(open, ({ limit }) => limit.activeCount + limit.pendingCount);
    if (!connection || (connection.limit.activeCount > 0 && open.length < apnsConnections)) {
      const provider = openProvider(environment);
      connection = { provider, limit: pLimit(apnsStreamsPerConnection), observed: observeRequests(provider, sessions) };
      open.push(connection);
    }
    return connection;
  };

  const sendOne = async (item: Rendered<'apns', ApnsPayload>, signal: AbortSignal): Promise<Outcome> => {
    const { payload, recipient } = item;
    if (signal.aborted) return notSent;
    if (!payload.topic) return { kind: 'fatal', reason: 'missing-topic', fix: 'set apns.topic (the app bundle id), --apns-topic, or an apns_topic column in the audience' };
    const environment = recipient.apnsEnvironment ?? defaultEnvironment;
    const connection = connectionFor(environment);
    const note = new apn.Notification();
    note.rawPayload = payload.body;
    note.topic = payload.topic;
    note.pushType = payload.pushType;
    note.priority = payload.priority;
    // A TTL of 0 is "deliver now or never": apns-expiration 0, not the current time.
    if (payload.ttlSeconds !== undefined) note.expiry = payload.ttlSeconds === 0 ? 0 : Math.floor(Date.now() / 1000) + payload.ttlSeconds;
    if (payload.collapseId !== undefined) note.collapseId = payload.collapseId;
    const result = await connection.limit(async () => {
      if (signal.aborted) return undefined;
      await providerToken?.fresh();
      return signal.aborted ? undefined : connection.provider.send(note, recipient.token);
    });
    if (!result) return notSent;
    const observed = connection.observed(`/3/device/${recipient.token}`);
    const sent = result.sent[0] as { 'apns-id'?: string } | undefined;
    if (sent) return { kind: 'accepted', id: sent['apns-id'] };
    const outcome = classifyApnsFailure((result.failed[0] ?? {}) as ApnsFailure, observed, environment);
    const expiredYoung = providerToken?.token?.expiredYoungMs;
    if (outcome.kind === 'retryable' && outcome.reason === 'credentials-expired' && expiredYoung !== undefined) return clockOff(expiredYoung);
    return outcome;
  };

  return {
    name: 'apns',
    maxBatch: apnsBatch,

    async verify(signal) {
      connectionFor(defaultEnvironment); // a key node-apn cannot read fails here
      await providerToken?.fresh(); // in a sending thread, the main thread's token has come
      await checkProviderHost('APNs', endpoint ?? new URL(apnsHosts[defaultEnvironment]), { ca, setting: endpoint && 'apns.endpoint', signal });
    },

    send(batch, signal) {
      return Promise.all(batch.map((item) => sendOne(item, signal)));
    },

    abandon: () => sessions.destroyAll(),
    async close() {
      sessions.close(); // node-apn's own shutdown waits for streams that may never end
      await Promise.all([...connections.values()].flat().map(({ provider }) => provider.shutdown()));
      connections.clear();
    },
  };
}

type ApnsAuth = { token: ApnsTokenKey } | { cert: string; key: string; passphrase?: string } | { pfx: Buffer; passphrase?: string };

function readCredentials(settings: NonNullable<PushcastConfig['apns']>): ApnsAuth {
  if (settings.key) return { token: readTokenKey(settings) };
  if (settings.pfx) return { pfx: readPkcs12(settings.pfx, settings.passphrase), passphrase: settings.passphrase };
  if (settings.cert) {
    if (!settings.certKey) throw new ConfigError('APNs certificate auth needs apns.certKey beside apns.cert');
    return { cert: readSecret('apns.cert', settings.cert), key: readSecret('apns.certKey', settings.certKey), passphrase: settings.passphrase };
  }
  throw new ConfigError('APNs: no credentials: set apns.key, apns.keyId and apns.teamId (a .p8 key), apns.pfx (a .p12 certificate), or apns.cert and apns.certKey');
}

/** The .p8 key and its ids (token auth), checked: what the main thread signs the sending threads' tokens with. */
export function readTokenKey(settings: NonNullable<PushcastConfig['apns']>): ApnsTokenKey {
  const missing = (['keyId', 'teamId'] as const).filter((name) => !settings[name]);
  if (missing.length > 0) throw new ConfigError(`APNs token auth needs ${missing.map((name) => `apns.${name}`).join(' and ')} beside apns.key`);
  const key = readSecret('apns.key', settings.key!);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError('apns.key: not a readable .p8 private key (expected the PEM file Apple gave you)');
  }
  // Provider tokens are ES256: only a P-256 key signs them (node-apn refused others as it signed).
  if (privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigError('apns.key: not an APNs signing key (a P-256 EC key, the .p8 file Apple gave you)');
  }
  return { key, keyId: settings.keyId!, teamId: settings.teamId! };
}

/** A .p12/.pfx read and opened once here, so that a wrong passphrase stops the campaign before it starts, in plain words. */
function readPkcs12(value: string, passphrase: string | undefined): Buffer {
  const pfx = readSecretBytes('apns.pfx', value);
  try {
    createSecureContext({ pfx, passphrase });
  } catch (error) {
    const text = String((error as Error).message);
    if (/mac verify failure|bad decrypt|invalid password/i.test(text)) {
      throw new ConfigError(
        `apns.pfx: ${passphrase ? 'the passphrase does not open it' : 'it needs a passphrase'}: set apns.passphrase (or PUSHCAST_APNS_PASSPHRASE) to the one it was exported with`,
      );
    }
    throw new ConfigError(`apns.pfx: not a readable PKCS#12 (.p12/.pfx) certificate file (${text.split('\n')[0]})`);
  }
  return pfx;
}
