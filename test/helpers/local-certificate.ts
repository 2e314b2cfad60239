import selfsigned from 'selfsigned';

/** A self-signed certificate for a test's own TLS server on 127.0.0.1 (a client trusts it as its `ca`). */
export async function localCertificate(): Promise<{ key: string; cert: string }> {
  const made = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    days: 1,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  } as never);
  return { key: made.private, cert: made.cert };
}
