import type { PushcastConfig } from '../config/config.js';
import { concurrencyRule, isConcurrency, isThreadCount, threadCountRule } from '../config/check-config.js';
import { defaultInFlight, defaultRetries, defaultWorkers } from '../config/defaults.js';
import { stallTimeoutMs } from '../config/timeouts.js';
import { quoted } from '../domain/quote-value.js';
import { providerNames, isProviderName, type ProviderName } from '../domain/recipient.js';
import type { CampaignOptions } from '../engine/campaign-options.js';
import { parseRate } from '../engine/rate-limiter.js';
import { ConfigError } from '../errors.js';

/** `rate`: 500 for all providers together, or fcm=10000,apns=2000 per provider (--rate, PUSHCAST_RATE, the config file). */
export function rateLimits(config: PushcastConfig): CampaignOptions['rate'] {
  if (config.rate === undefined) return undefined;
  const rate: NonNullable<CampaignOptions['rate']> = {};
  for (const part of String(config.rate).split(',')) {
    const [name, amount] = part.includes('=') ? part.split('=') : [undefined, part];
    const perSecond = parseRate(amount);
    if (perSecond === undefined) throw new ConfigError(`rate takes sends per second such as 500, 500/s or 30000/m, not ${quoted(amount)}`);
    if (name === undefined) rate.total = perSecond;
    else if (isProviderName(name.trim())) (rate.perProvider ??= {})[name.trim() as ProviderName] = perSecond;
    else throw new ConfigError(`rate: unknown provider ${quoted(name)}`);
  }
  return rate;
}

/**
 * `concurrency`: recipients in flight per provider; each provider's default otherwise, for each
 * sending thread (each has its own connections), so that every thread has a batch to send.
 */
export function inFlightLimits(config: PushcastConfig, threads = 0): Record<ProviderName, number> {
  const { concurrency } = config;
  if (concurrency !== undefined && !isConcurrency(concurrency)) throw new ConfigError(`concurrency must be ${concurrencyRule}, not ${concurrency}`);
  return Object.fromEntries(providerNames.map((name) => [name, concurrency ?? defaultInFlight[name] * Math.max(1, threads)])) as Record<ProviderName, number>;
}

/** The engine's limits from the configuration and the defaults, for a run sending from `threads` threads. */
export function campaignLimits(config: PushcastConfig, threads = 0): Pick<CampaignOptions, 'inFlight' | 'rate' | 'stallMs' | 'maxAttempts' | 'maxRetryMs'> {
  return { inFlight: inFlightLimits(config, threads), rate: rateLimits(config), stallMs: stallTimeoutMs(config), ...defaultRetries };
}

/**
 * A rate given for all the shards of a campaign together (--shared-rate): a provider's quota is
 * per project (FCM: 600,000 messages a minute), so each of N shard processes takes 1/N of it.
 */
export function shareOfRate(rate: CampaignOptions['rate'], shards: number): CampaignOptions['rate'] {
  if (!rate || shards <= 1) return rate;
  const perProvider = rate.perProvider && Object.fromEntries(Object.entries(rate.perProvider).map(([name, perSecond]) => [name, perSecond / shards]));
  return { ...(rate.total !== undefined ? { total: rate.total / shards } : {}), ...(perProvider ? { perProvider } : {}) };
}

/** `workers`: threads the provider clients send from (0: the main thread). */
export function sendingThreads(config: PushcastConfig): number {
  const { workers } = config;
  if (workers === undefined) return defaultWorkers;
  if (!isThreadCount(workers)) throw new ConfigError(`workers must be ${threadCountRule}, not ${workers}`);
  return workers;
}
