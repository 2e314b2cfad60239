import { availableParallelism } from 'node:os';
import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';

/**
 * Every default pushcast falls back on, in one place: `pushcast config` shows them, the engine,
 * the campaign and the CLI read them from here.
 */

/**
 * Recipients in flight at once, per provider. APNs: the streams one HTTP/2 connection carries at
 * once (create-apns.ts); more would only queue inside the client, unsent yet counted in flight
 * (uncertain after a crash), for no speed.
 */
export const defaultInFlight: Readonly<Record<ProviderName, number>> = { fcm: 500, apns: 100, webpush: 200 };

/**
 * Threads the provider clients send from: one a core, so the clients' work (TLS, HTTP/2, JSON,
 * web push encryption) uses them all, at most 4: past that the main thread, which reads, renders
 * and journals for all of them, is the limit.
 */
export const defaultWorkers = Math.min(availableParallelism(), 4);

/** Audience files from this size (some 40,000 rows) get the sending threads unless `workers` says otherwise. */
export const threadsFromBytes = 8 << 20;

/**
 * How long pushcast waits on a provider. A request with no answer after `requestSeconds` is
 * abandoned as `uncertain` (it may have been delivered); a provider with requests outstanding and
 * no answer at all for `stallSeconds` is stalled, and the campaign stops instead of hanging.
 */
export const defaultTimeouts = { requestSeconds: 30, stallSeconds: 120 } as const;

/** APNs tokens go to production unless the config or the row says sandbox, as node-apn does. */
export const defaultApnsEnvironment: ApnsEnvironment = 'production';

/** Attempts per recipient, the first included, and how long after its first attempt a retry may still start. */
export const defaultRetries = { maxAttempts: 5, maxRetryMs: 10 * 60_000 } as const;

/** Where journals live unless --journal-dir says otherwise: beside the command, like npm's caches. */
export const defaultJournalDir = '.pushcast';

/** The device registry, unless --registry or PUSHCAST_REGISTRY names another. */
export const defaultRegistryFile = 'pushcast.db';

/** Config files looked for in the working directory when --config names none. */
export const defaultConfigFiles = ['pushcast.config.json', 'pushcast.config.yaml', 'pushcast.config.yml'];
