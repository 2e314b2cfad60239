import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import { isApnsTopic } from '../../audience/check-token.js';
import { quoted } from '../../domain/quote-value.js';
import type { ApnsEnvironment } from '../../domain/recipient.js';
import { ConfigError } from '../../errors.js';
import { OpenSessions } from '../http2/open-sessions.js';
import { apnsChannelHosts } from './apns-host.js';
import { readApnsClientSettings, type ApnModule, type ApnProvider } from './create-apns.js';
import { observeRequests, type RequestObservation } from './observe-requests.js';

/** Apple: a Live Activity's apns-topic is the bundle id with this appended; a channel's path takes the bundle id alone. */
const liveActivityTopicSuffix = '.push-type.liveactivity';

/**
 * One node-apn provider for an app's broadcast channels: its two connections are node-apn's, one to
 * the channel management host (apns.channelsEndpoint, else Apple's of apns.environment) and one to
 * the notification host that takes broadcasts (apns.endpoint, else Apple's). It signs no token of
 * its own: the process's provider token is shared with it (share-provider-token.ts).
 */
export interface ApnsChannelClient {
  readonly apn: ApnModule;
  readonly provider: ApnProvider;
  /** The app's bundle id: the path of every channel request and broadcast. */
  readonly bundleId: string;
  readonly environment: ApnsEnvironment;
  /** Before each request: the shared token renewed if it is old. */
  fresh(): Promise<void>;
  /** How young the shared token was when APNs called it expired, if it was too young to renew (provider-token.ts): this machine's clock is off. */
  expiredYoungMs(): number | undefined;
  /** What the transport saw of the request made to this path (observe-requests.ts). */
  observed(path: string): RequestObservation | undefined;
  close(): Promise<void>;
}

/** `bundleId`: --app, else apns.topic (a Live Activity topic is taken back to its bundle id). */
export async function openApnsChannelClient(config: PushcastConfig, given: { bundleId?: string } = {}): Promise<ApnsChannelClient> {
  const topic = given.bundleId ?? config.apns?.topic;
  if (topic === undefined) throw new ConfigError("APNs broadcast channels belong to an app: set apns.topic (the app's bundle id) or give --app");
  const bundleId = topic.endsWith(liveActivityTopicSuffix) ? topic.slice(0, -liveActivityTopicSuffix.length) : topic;
  if (!isApnsTopic(bundleId)) throw new ConfigError(`the app's bundle id is like com.example.app (ASCII letters, digits, - and .), not ${quoted(topic)}`);
  const { environment, timeoutMs, apn, providerToken, openProvider } = await readApnsClientSettings(config);
  const channelsEndpoint = config.apns?.channelsEndpoint ? parseEndpoint('apns.channelsEndpoint', config.apns.channelsEndpoint) : new URL(apnsChannelHosts[environment]);
  // Always named: node-apn would take the sandbox's management host for any address it does not know.
  const provider = openProvider(environment, { manageChannelsAddress: channelsEndpoint.hostname, manageChannelsPort: Number(channelsEndpoint.port || 443) });
  const sessions = new OpenSessions(timeoutMs);
  const observed = observeRequests(provider, sessions);
  return {
    apn,
    provider,
    bundleId,
    environment,
    fresh: async () => providerToken?.fresh(),
    expiredYoungMs: () => providerToken?.token?.expiredYoungMs,
    observed,
    async close() {
      sessions.close(); // node-apn's own shutdown waits for streams that may never end
      await provider.shutdown();
    },
  };
}
