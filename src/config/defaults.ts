import { availableParallelism } from 'node:os';
import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';

/**
 * Every default pushcast falls back on, in one place: `pushcast config` shows them, the engine,
 * the campaign and the CLI read them from here.
 */

/**
 * Recipients in flight at once, per provider. A remote provider's round trip caps the rate at this
 * many per round trip. APNs: the 100 streams each of its 4 connections carries at once
 * (create-apns.ts); more would only queue inside the client, unsent yet counted in flight
 * (uncertain after a crash), for no speed. 10,000 APNs recipients at 50 ms latency, 1% dead: 100
 * in flight sent 1,298-1,387 a second, 400 sent 2,959-3,002.
 */
export const defaultInFlight: Readonly<Record<ProviderName, number>> = { fcm: 500, apns: 400, webpush: 200 };

/**
 * FCM messages per sendEach call, unless `fcm.batchSize` says (firebase-admin takes up to 500).
 * Each call has an HTTP/2 connection to itself (a later call reuses it: fcm/kept-sessions.ts), and
 * FCM takes 100 concurrent streams on one (firebase-admin-node#2488, #2943): the rest of a bigger
 * batch waits behind them. With the emulator advertising 100 streams, 50 ms latency, 10,000
 * recipients and 500 in flight, batches of 500 sent 1,302-1,333 a second and batches of 100 (five
 * calls at once) 2,665-2,791, for the same CPU.
 */
export const defaultFcmBatch = 100;

/**
 * Threads the provider clients send from, unless `workers` says: none. Measured on a 2-core
 * machine with the emulator on the same cores, two sending threads cost 12–37% more CPU a message
 * (each thread loads and warms up its own clients; the batches and answers cross threads) and sent
 * FCM and APNs hardly faster, with about 100 MB more memory; they pay where there are cores to
 * spare and the provider is remote, and for web push's encryption (README, Every core).
 */
export const defaultWorkers = 0;

/** Sending threads are useful up to about one a core: the main thread reads, renders and journals for all of them. */
export const suggestedWorkers = Math.min(availableParallelism(), 4);

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
