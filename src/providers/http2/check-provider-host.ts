import { isIP } from 'node:net';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { socketHost } from '../../config/parse-endpoint.js';
import { ConfigError } from '../../errors.js';
import { classifyNoAnswer } from './no-answer.js';
import { resolveHost } from '../resolve-host.js';

/** A TLS connection to a provider's origin, as its clients open one: offering h2, then HTTP/1.1 (unless `options` say otherwise). */
export function connectTls(url: URL, ca: string | string[] | undefined, options: ConnectionOptions = {}): TLSSocket {
  const host = socketHost(url);
  return connect({ host, port: Number(url.port || 443), ...(isIP(host) ? {} : { servername: url.hostname }), ca, ALPNProtocols: ['h2', 'http/1.1'], ...options });
}

/** Long enough for a TLS handshake across the world; a host that takes longer is left to the sends. */
const handshakeMs = 5000;

/**
 * Checks a provider's host before anything is sent: that its name resolves (resolveHost), then,
 * by opening a TLS connection and closing it, that this machine trusts its certificate (a proxy's,
 * or the emulator's without `ca`). Either failure stops the campaign. Any other (a refused
 * connection, a slow handshake) is left to the sends, which retry what provably never left.
 * `setting`: the endpoint setting that named the host, if it is not the provider's own.
 */
export async function checkProviderHost(provider: string, url: URL, options: { ca: string | string[] | undefined; setting?: string; signal?: AbortSignal }): Promise<void> {
  const { ca, signal } = options;
  await resolveHost(url, { setting: options.setting, signal });
  const failure = await new Promise<Error | undefined>((resolve) => {
    if (signal?.aborted) return resolve(undefined);
    const socket = connectTls(url, ca);
    const done = (error?: Error) => {
      signal?.removeEventListener('abort', closing);
      socket.destroy();
      resolve(error);
    };
    // The run is closing (a Ctrl-C): the check proves nothing any more.
    const closing = () => done();
    signal?.addEventListener('abort', closing, { once: true });
    socket.once('secureConnect', () => done());
    socket.once('error', done);
    socket.setTimeout(handshakeMs, () => done());
  });
  if (!failure) return;
  const outcome = classifyNoAnswer(failure);
  if (outcome.kind === 'fatal') throw new ConfigError(`${provider} at ${url.origin}: ${outcome.fix}`);
}
