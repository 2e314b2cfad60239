import selfsigned from 'selfsigned';

type Pem = { key: string; cert: string };

/**
 * A certificate for a test's own TLS server on 127.0.0.1: self-signed (a client trusts it as its
 * `ca`), or signed by `signedBy` (a client trusts that authority's certificate instead).
 */
export async function localCertificate(options: { signedBy?: Pem } = {}): Promise<Pem> {
  const made = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    days: 1,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    ca: options.signedBy,
  } as never);
  return { key: made.private, cert: made.cert };
}

/**
 * A certificate authority named `name`, to sign a test server's certificate with (localCertificate's
 * signedBy): a root, or an intermediate one `signedBy` another.
 */
export async function localAuthority(name: string, options: { signedBy?: Pem } = {}): Promise<Pem> {
  const made = await selfsigned.generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    days: 1,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
    ca: options.signedBy,
  } as never);
  return { key: made.private, cert: made.cert };
}
