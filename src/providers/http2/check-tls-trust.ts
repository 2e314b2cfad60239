import type { DetailedPeerCertificate } from 'node:tls';
import { connectTls } from './check-provider-host.js';

/**
 * What one TLS handshake with a provider's host proved. `root`: the authority the chain leads to
 * (trusted: the root it was verified against; untrusted: the issuer of the last certificate the
 * host sent, which this machine could not vouch for). `code`: OpenSSL's verdict, or Node's for a
 * name the certificate does not cover (UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_TLS_CERT_ALTNAME_INVALID).
 */
export type TlsTrust = { kind: 'trusted'; root: string } | { kind: 'untrusted'; code: string; root: string } | { kind: 'unreachable'; reason: string };

/**
 * Whether this machine trusts the certificate chain `url`'s host presents, through `ca` where the
 * config names one (it replaces Node's own CA certificates), as the sends would judge it: a TLS
 * handshake offering h2, and no request. The handshake goes on past an untrusted chain so that the
 * verdict and the chain can be read from the socket, which is then closed before anything is sent.
 * `timeoutMs`: how long the connection and the handshake may go without progress.
 */
export function checkTlsTrust(url: URL, options: { ca: string | undefined; timeoutMs: number }): Promise<TlsTrust> {
  return new Promise((resolve) => {
    const socket = connectTls(url, options.ca, { ALPNProtocols: ['h2'], rejectUnauthorized: false });
    const done = (trust: TlsTrust) => {
      socket.destroy();
      resolve(trust);
    };
    socket.once('secureConnect', () => {
      const root = rootOf(socket.getPeerCertificate(true));
      done(socket.authorized ? { kind: 'trusted', root } : { kind: 'untrusted', code: String(socket.authorizationError), root });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => done({ kind: 'unreachable', reason: error.code ?? error.message }));
    socket.setTimeout(options.timeoutMs, () => done({ kind: 'unreachable', reason: `no TLS handshake within ${options.timeoutMs / 1000} s` }));
  });
}

/** The issuer at the top of a chain as Node gives it: a root of the trust store ends it by naming itself. */
function rootOf(certificate: DetailedPeerCertificate): string {
  let top = certificate;
  const seen = new Set<string>();
  while (top.issuerCertificate && !seen.has(top.fingerprint256) && top.issuerCertificate.fingerprint256 !== top.fingerprint256) {
    seen.add(top.fingerprint256);
    top = top.issuerCertificate;
  }
  const name = top.issuer?.CN ?? top.issuer?.O;
  return name ? String(name) : 'an unnamed authority';
}
