import { ConfigError } from '../errors.js';

/** An endpoint override: an https origin (a proxy or the emulator) that replaces a provider's host. */
export function parseEndpoint(setting: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${setting}: "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`${setting}: must be an https URL, not ${url.protocol}`);
  return url;
}
