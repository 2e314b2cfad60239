import { quoted } from '../domain/quote-value.js';
import { ConfigError } from '../errors.js';

/** An endpoint override: an https origin (a proxy or the emulator) that replaces a provider's host. */
export function parseEndpoint(setting: string, value: string): URL {
  const problem = endpointProblem(value);
  if (problem) throw new ConfigError(`${setting} ${problem}`);
  return new URL(value);
}

/** Why `value` is no endpoint override, or undefined. */
export function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `must be an https URL, not ${quoted(value)}`;
  }
  return url.protocol === 'https:' ? undefined : `must be an https URL, not ${url.protocol}`;
}

/** A URL's host as socket APIs take it: an IPv6 literal without its brackets ("::1", not "[::1]"). */
export function socketHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}
