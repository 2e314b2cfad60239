import { rateLimits } from '../campaign/limits.js';
import { concurrencyRule, isConcurrency, isThreadCount, threadCountRule } from '../config/check-config.js';
import type { Thresholds } from '../campaign/thresholds.js';
import type { FlagSetting } from '../config/load-config.js';
import { parseShard, type Shard } from '../engine/shard.js';
import { ConfigError, UsageError } from '../errors.js';
import type { ScheduleSettings } from '../campaign/schedule.js';
import { ageForms, parseAgeDays, parseDuration } from '../config/parse-duration.js';
import { isTimeZone } from '../domain/zoned-time.js';
import { analyticsLabelPattern } from '../providers/fcm/analytics-label.js';

// The flags of `send` and `check` that need more than commander's parsing, each with the error a person can act on.

/** The flags that are settings too: they override the environment and the config file. */
export function sendFlags(options: {
  apnsTopic?: string;
  concurrency?: string;
  workers?: string;
  rate?: string;
  journalDir?: string;
  requestTimeout?: string;
  stallTimeout?: string;
  registry?: string;
  cap?: string | false;
}): FlagSetting[] {
  return [
    { path: 'apns.topic', flag: '--apns-topic', value: options.apnsTopic },
    { path: 'concurrency', flag: '--concurrency', value: options.concurrency === undefined ? undefined : parseConcurrency(options.concurrency) },
    { path: 'workers', flag: '--workers', value: options.workers === undefined ? undefined : parseWorkers(options.workers) },
    { path: 'rate', flag: '--rate', value: options.rate },
    { path: 'journalDir', flag: '--journal-dir', value: options.journalDir },
    { path: 'requestTimeout', flag: '--request-timeout', value: options.requestTimeout },
    { path: 'stallTimeout', flag: '--stall-timeout', value: options.stallTimeout },
    { path: 'registry', flag: '--registry', value: options.registry },
    // --no-cap (false) lifts the config's cap where the run reads it: it sets nothing here.
    { path: 'cap', flag: '--cap', value: typeof options.cap === 'string' ? options.cap : undefined },
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
  if (!isConcurrency(n)) throw new UsageError(`--concurrency must be ${concurrencyRule}, not "${value}"`);
  return n;
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!isThreadCount(n)) throw new UsageError(`--workers is ${threadCountRule}, not "${value}"`);
  return n;
}

/** --label (FCM's analytics label, as FCM takes it) or --no-label (false); undefined: the campaign's id. */
export function parseLabelFlag(label: string | false | undefined): string | false | undefined {
  if (label === undefined || label === false || analyticsLabelPattern.test(label)) return label;
  throw new UsageError(`--label takes 1 to 50 letters, digits and - _ . ~ % (FCM's grammar for analytics labels), not ${JSON.stringify(label)}`);
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

/** --max-age: an age in days ("90", "90d", "12w"), or 0 to send to devices however long ago they were seen. */
export function parseMaxAge(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const days = parseAgeDays(value);
  if (days === undefined) throw new UsageError(`--max-age takes ${ageForms}, or 0 for no limit, not "${value}"`);
  return days;
}

/** The scheduling flags of `send`, as given. */
export interface ScheduleFlags {
  at?: string;
  timezone?: string;
  local?: boolean;
  defaultTimezone?: string;
  quietHours?: string;
  lateLimit?: string;
  spread?: string;
}

/** Two hours: a 09:00 promotion may still go at 10:59, not at 03:00 the next night. */
const defaultLateLimitSeconds = 2 * 3600;

/** The schedule the flags ask for, or none when no scheduling flag was given. */
export function parseSchedule(flags: ScheduleFlags): Omit<ScheduleSettings, 'anchor'> | undefined {
  if (flags.at === undefined && !flags.local && flags.quietHours === undefined && flags.spread === undefined) {
    for (const [given, flag] of [
      [flags.timezone, '--timezone'],
      [flags.defaultTimezone, '--default-timezone'],
      [flags.lateLimit, '--late-limit'],
    ] as const) {
      if (given !== undefined) throw new UsageError(`${flag} goes with --at, --local, --quiet-hours or --spread`);
    }
    return undefined;
  }
  for (const [zone, flag] of [
    [flags.timezone, '--timezone'],
    [flags.defaultTimezone, '--default-timezone'],
  ] as const) {
    if (zone !== undefined && !isTimeZone(zone))
      throw new UsageError(`${flag}: "${zone}" is not a time zone this machine knows (an IANA name such as Asia/Tehran or Europe/Berlin)`);
  }
  const at = flags.at === undefined ? undefined : parseAt(flags.at, flags);
  if (flags.local && flags.timezone !== undefined)
    throw new UsageError("--local reads --at in each recipient's own time zone: give --default-timezone for those with none, not --timezone");
  const lateLimit = flags.lateLimit === undefined ? defaultLateLimitSeconds : parseDuration(flags.lateLimit);
  if (lateLimit === undefined) throw new UsageError(`--late-limit takes a duration such as 2h or 30m, not "${flags.lateLimit}"`);
  const spread = flags.spread === undefined ? undefined : parseDuration(flags.spread);
  if (flags.spread !== undefined && !spread) throw new UsageError(`--spread takes a duration such as 2h or 45m, not "${flags.spread}"`);
  return {
    at,
    local: Boolean(flags.local),
    timezone: flags.timezone,
    defaultTimezone: flags.defaultTimezone,
    quietHours: flags.quietHours === undefined ? undefined : parseQuietHours(flags.quietHours),
    lateLimitMs: lateLimit * 1000,
    spreadMs: spread ? spread * 1000 : undefined,
  };
}

/** `--at`: a moment with an offset (2026-12-01T09:00+03:30), a wall date and time, or a time of day (09:00). */
function parseAt(value: string, flags: ScheduleFlags): ScheduleSettings['at'] {
  const text = value.trim();
  const timeOnly = /^(\d{1,2}):(\d{2})$/.exec(text);
  const wall = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})$/.exec(text);
  const withOffset = /^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  if (withOffset) {
    if (flags.local) throw new UsageError(`--at ${value} names one moment everywhere: with --local give a local time (09:00, or 2026-12-01T09:00)`);
    const ms = Date.parse(text.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isNaN(ms)) throw new UsageError(`--at: "${value}" is not a date and time`);
    return { kind: 'instant', ms };
  }
  if (!timeOnly && !wall) throw new UsageError(`--at takes 2026-12-01T09:00+03:30, 2026-12-01T09:00 (with --timezone or --local) or 09:00, not "${value}"`);
  if (!flags.local && flags.timezone === undefined)
    throw new UsageError(`--at ${value} has no offset: add --timezone ZONE (e.g. Asia/Tehran), or --local for each recipient's own time zone`);
  const [hour, minute] = timeOnly ? [Number(timeOnly[1]), Number(timeOnly[2])] : [Number(wall![4]), Number(wall![5])];
  if (hour > 23 || minute > 59) throw new UsageError(`--at: "${value}" is not a time of day`);
  const date = wall ? { year: Number(wall[1]), month: Number(wall[2]), day: Number(wall[3]) } : undefined;
  return { kind: 'wall', date, hour, minute };
}

/** `--quiet-hours 22:00-08:00`: local minutes of the day, the end excluded; may wrap midnight. */
function parseQuietHours(value: string): { start: number; end: number } {
  const match = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(value);
  const minutes = match ? [Number(match[1]) * 60 + Number(match[2]), Number(match[3]) * 60 + Number(match[4])] : [];
  if (!match || minutes.some((m) => m >= 24 * 60) || minutes[0] === minutes[1]) throw new UsageError(`--quiet-hours takes a local span such as 22:00-08:00, not "${value}"`);
  return { start: minutes[0], end: minutes[1] };
}
