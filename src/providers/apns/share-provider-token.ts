import type { ProviderTokenSource } from './provider-token.js';

/** node-apn 8's token: made by lib/credentials/token/prepare.js, read by lib/client.js before each request. */
interface NodeApnToken {
  generation: number;
  current: string;
  regenerate(generation: number): void;
  isExpired(validSeconds: number): boolean;
}

/**
 * Puts the process's shared provider token (provider-token.ts) where node-apn keeps its own,
 * `client.config.token`, which it signs per Provider, so per connection. node-apn reads `current`
 * for each request and, after an ExpiredProviderToken answer, calls `regenerate` with the
 * generation that request carried: the source renews it once for every connection. Renewal by age
 * is the source's (`fresh()`, awaited before each send), so `isExpired` says no. A node-apn that
 * no longer keeps its token there fails loudly here; test/apns-provider-token.test.ts pins it.
 */
export function shareProviderToken(provider: object, source: ProviderTokenSource): void {
  const config = (provider as { client?: { config?: { token?: Partial<NodeApnToken> } } }).client?.config;
  if (typeof config?.token?.regenerate !== 'function' || typeof config.token.current !== 'string') {
    throw new Error('@parse/node-apn no longer keeps its provider token in client.config.token: pushcast cannot share one token between its connections');
  }
  const shared: NodeApnToken = {
    get generation() {
      return source.token?.generation ?? -1;
    },
    get current() {
      return source.token?.jwt ?? '';
    },
    regenerate: (generation) => source.renew(generation),
    isExpired: () => false,
  };
  config.token = shared;
}
