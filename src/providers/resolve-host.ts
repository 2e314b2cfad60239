import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { socketHost } from '../config/parse-endpoint.js';
import { UnresolvedHostError } from '../errors.js';

/**
 * Resolves a provider's host before anything is sent to it. A name that does not resolve (no
 * network, no DNS, a wrong name) fails every request alike: the sends would retry it for seconds and
 * end with a chain of getaddrinfo errors, so it stops the campaign here, in one line. Any lookup
 * failure counts (ENOTFOUND, EAI_AGAIN, EAI_FAIL: getaddrinfo has no other kind). It takes as long
 * as this machine's resolver does; `signal` (the run is closing) ends the wait, proving nothing.
 * `setting`: the setting that named the host (an endpoint override, a key file's token_uri).
 */
export async function resolveHost(url: URL, options: { setting?: string; signal?: AbortSignal } = {}): Promise<void> {
  const host = socketHost(url);
  if (isIP(host) || options.signal?.aborted) return;
  let stopWaiting!: () => void;
  const closing = new Promise<'closing'>((resolve) => {
    stopWaiting = () => resolve('closing');
    options.signal?.addEventListener('abort', stopWaiting, { once: true });
  });
  try {
    await Promise.race([lookup(host), closing]);
  } catch {
    throw new UnresolvedHostError(url.hostname, options.setting);
  } finally {
    options.signal?.removeEventListener('abort', stopWaiting);
  }
}
