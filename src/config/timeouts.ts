import { quoted } from '../domain/quote-value.js';
import { ConfigError } from '../errors.js';
import type { PushcastConfig } from './config.js';
import { defaultTimeouts } from './defaults.js';
import { durationRule } from './check-config.js';
import { parseDuration } from './parse-duration.js';

/** The request and stall timeouts (see defaults.ts), from the config or their defaults. */
export function requestTimeoutMs(config: PushcastConfig): number {
  return seconds('requestTimeout', config.requestTimeout, defaultTimeouts.requestSeconds) * 1000;
}

export function stallTimeoutMs(config: PushcastConfig): number {
  return seconds('stallTimeout', config.stallTimeout, defaultTimeouts.stallSeconds) * 1000;
}

function seconds(setting: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = parseDuration(value);
  if (!parsed) throw new ConfigError(`${setting} ${durationRule}, not ${quoted(value)}`);
  return parsed;
}
