import { quoted } from '../../domain/quote-value.js';
import { ConfigError } from '../../errors.js';

/**
 * Push services a subscription may point at. An audience file from elsewhere could name any URL,
 * including hosts inside your network, so only the public push services are contacted unless
 * `webpush.allowedOrigins` adds more (the emulator's, a self-hosted service).
 */
export const publicPushServices = [
  { service: 'fcm', origin: 'https://fcm.googleapis.com' }, // Chrome, Edge on Android, Opera, Samsung Internet
  { service: 'mozilla', origin: 'https://updates.push.services.mozilla.com' }, // Firefox
  { service: 'windows', origin: 'https://*.notify.windows.com' }, // Edge on Windows (WNS)
  { service: 'apple', origin: 'https://web.push.apple.com' }, // Safari
] as const;

/** Which push service an endpoint belongs to: each words its answers its own way. */
export type PushService = (typeof publicPushServices)[number]['service'] | 'other';

export function pushServiceOf(endpoint: string): PushService {
  const host = new URL(endpoint).host;
  const known = publicPushServices.find(({ origin }) => {
    const pattern = origin.replace('https://', '');
    return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern;
  });
  return known?.service ?? 'other';
}

function parseOrigin(origin: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(origin.replace('*.', 'wildcard.'));
  } catch {
    // reported below
  }
  if (!url || url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.username || url.password) {
    throw new ConfigError(`webpush.allowedOrigins: ${quoted(origin)} is not an origin such as https://push.example.com or https://*.example.com`);
  }
  return url;
}

export type OriginCheck = (endpoint: string) => boolean;

/** Origins as `https://host[:port]`, where a host may start with `*.` to take any subdomain. */
export function allowOrigins(extra: readonly string[] = []): OriginCheck {
  const patterns = [...publicPushServices.map(({ origin }) => origin), ...extra].map((origin) => {
    const { protocol, host } = parseOrigin(origin);
    const wildcard = origin.includes('://*.');
    return { protocol, host: wildcard ? host.slice('wildcard'.length) : host, wildcard };
  });
  return (endpoint) => {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return false;
    }
    return patterns.some((pattern) => url.protocol === pattern.protocol && (pattern.wildcard ? url.host.endsWith(pattern.host) : url.host === pattern.host));
  };
}
