import { rateLimits } from '../campaign/limits.js';
import type { Thresholds } from '../campaign/thresholds.js';
import type { FlagSetting } from '../config/load-config.js';
import { parseShard, type Shard } from '../engine/shard.js';
import { ConfigError, UsageError } from '../errors.js';

// The flags of `send` and `check` that need more than commander's parsing, each with the error a person can act on.

/** The flags that are settings too: they override the environment and the config file. */
export function sendFlags(options: {
  apnsTopic?: string;
  concurrency?: string;
  rate?: string;
  journalDir?: string;
  requestTimeout?: string;
  stallTimeout?: string;
  registry?: string;
}): FlagSetting[] {
  return [
    { path: 'apns.topic', flag: '--apns-topic', value: options.apnsTopic },
    { path: 'concurrency', flag: '--concurrency', value: options.concurrency === undefined ? undefined : parseConcurrency(options.concurrency) },
    { path: 'rate', flag: '--rate', value: options.rate },
    { path: 'journalDir', flag: '--journal-dir', value: options.journalDir },
    { path: 'requestTimeout', flag: '--request-timeout', value: options.requestTimeout },
    { path: 'stallTimeout', flag: '--stall-timeout', value: options.stallTimeout },
    { path: 'registry', flag: '--registry', value: options.registry },
  ];
}

export function parseThresholds(options: { maxInvalidRate?: string; maxFailed?: string; requireAllAccepted?: boolean }): Thresholds {
  const thresholds: Thresholds = { requireAllAccepted: options.requireAllAccepted };
  if (options.maxInvalidRate !== undefined) {
    const rate = Number(options.maxInvalidRate.endsWith('%') ? Number(options.maxInvalidRate.slice(0, -1)) / 100 : options.maxInvalidRate);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new UsageError(`--max-invalid-rate is a share between 0 and 1 (or a percentage), not "${options.maxInvalidRate}"`);
    thresholds.maxInvalidRate = rate;
  }
  if (options.maxFailed !== undefined) {
    const n = Number(options.maxFailed);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--max-failed is a whole number, not "${options.maxFailed}"`);
    thresholds.maxFailed = n;
  }
  return thresholds;
}

export function parseShardFlag(value: string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const shard = parseShard(value);
  if (!shard) throw new UsageError(`--shard takes K/N with 1 <= K <= N, such as 2/4, not "${value}"`);
  return shard;
}

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency must be a whole number of recipients in flight per provider, not "${value}"`);
  return n;
}

/** --rate, checked by the setting's own parser: its complaint is about the command line. */
export function checkRateFlag(rate: string | undefined): void {
  if (rate === undefined) return;
  try {
    rateLimits({ rate });
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`--${error.message}`);
    throw error;
  }
}

/** --max-age: days ("90", "90d"), or 0 to send to devices however long ago they were seen. */
export function parseMaxAge(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const days = Number(value.trim().replace(/d$/i, ''));
  if (!Number.isInteger(days) || days < 0) throw new UsageError(`--max-age is a whole number of days (0: no limit), not "${value}"`);
  return days;
}
