/**
 * Push services a subscription may point at. An audience file from elsewhere could name any URL,
 * including hosts inside your network, so only the public push services are contacted unless
 * `webpush.allowedOrigins` adds more (the emulator's, a self-hosted service).
 */
export const publicPushServices = [
  'https://fcm.googleapis.com', // Chrome, Edge on Android, Opera, Samsung Internet
  'https://updates.push.services.mozilla.com', // Firefox
  'https://*.notify.windows.com', // Edge on Windows (WNS)
  'https://web.push.apple.com', // Safari
] as const;

export type OriginCheck = (endpoint: string) => boolean;

/** Origins as `https://host[:port]`, where a host may start with `*.` to take any subdomain. */
export function allowOrigins(extra: readonly string[] = []): OriginCheck {
  const patterns = [...publicPushServices, ...extra].map((origin) => {
    const { protocol, host } = new URL(origin.replace('*.', 'wildcard.'));
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
