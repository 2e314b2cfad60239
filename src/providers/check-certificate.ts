import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { socketHost } from '../config/parse-endpoint.js';
import { ConfigError } from '../errors.js';
import { classifyNoAnswer } from './no-answer.js';

/** A TLS connection to a provider's origin, as its clients open one: offering h2, then HTTP/1.1. */
export function connectTls(url: URL, ca: string | string[] | undefined): TLSSocket {
  const host = socketHost(url);
  return connect({ host, port: Number(url.port || 443), ...(isIP(host) ? {} : { servername: url.hostname }), ca, ALPNProtocols: ['h2', 'http/1.1'] });
}

/** Long enough for a TLS handshake across the world; a host that takes longer is left to the sends. */
const handshakeMs = 5000;

/**
 * Opens a TLS connection to a provider's host and closes it, so that a certificate this machine
 * does not trust (a proxy's, or the emulator's without `ca`) stops the campaign before anything
 * is sent. Any other failure (no network, a refused connection) is left to the sends, which
 * retry what provably never left.
 */
export async function checkCertificate(provider: string, url: URL, ca: string | string[] | undefined, signal?: AbortSignal): Promise<void> {
  const failure = await new Promise<Error | undefined>((resolve) => {
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
