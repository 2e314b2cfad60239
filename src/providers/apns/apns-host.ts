import type { PushcastConfig } from '../../config/config.js';
import { defaultApnsEnvironment } from '../../config/defaults.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import type { ApnsEnvironment } from '../../domain/recipient.js';

/** Apple's APNs hosts, one an environment (Apple, "Sending notification requests to APNs"). */
export const apnsHosts: Record<ApnsEnvironment, string> = { production: 'https://api.push.apple.com', sandbox: 'https://api.sandbox.push.apple.com' };

/**
 * Where the config's notifications go when a row names no environment: apns.endpoint (a proxy,
 * the emulator), else Apple's host of apns.environment. Undefined for an environment that is
 * neither: creating the client refuses it, in its words.
 */
export function apnsHost(config: PushcastConfig): { url: URL; setting?: string } | undefined {
  const settings = config.apns ?? {};
  if (settings.endpoint) return { url: parseEndpoint('apns.endpoint', settings.endpoint), setting: 'apns.endpoint' };
  const environment = settings.environment ?? defaultApnsEnvironment;
  return Object.hasOwn(apnsHosts, environment) ? { url: new URL(apnsHosts[environment]) } : undefined;
}

/**
 * Apple's hosts for managing broadcast channels, one an environment, each on its own port (Apple,
 * "Sending channel management requests to APNs"; @parse/node-apn 8.1's lib/config.js agrees).
 * Broadcasts themselves go to the environment's notification host (`apnsHosts`).
 */
export const apnsChannelHosts: Record<ApnsEnvironment, string> = {
  production: 'https://api-manage-broadcast.push.apple.com:2196',
  sandbox: 'https://api-manage-broadcast.sandbox.push.apple.com:2195',
};
