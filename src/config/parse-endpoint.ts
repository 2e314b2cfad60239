import { quoted } from '../domain/quote-value.js';
import { ConfigError } from '../errors.js';

/** An endpoint override: an https origin (a proxy or the emulator) that replaces a provider's host. */
export function parseEndpoint(setting: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${setting}: ${quoted(value)} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`${setting}: must be an https URL, not ${url.protocol}`);
  return url;
}

/** A URL's host as socket APIs take it: an IPv6 literal without its brackets ("::1", not "[::1]"). */
export function socketHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}
