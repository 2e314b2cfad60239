import { createECDH, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import selfsigned from 'selfsigned';

/** Hosts the emulator's certificate is valid for: loopback, and the real providers' names for redirected clients. */
const certificateNames = [
  'localhost',
  'fcm.googleapis.com',
  'oauth2.googleapis.com',
  'api.push.apple.com',
  'api.sandbox.push.apple.com',
  'updates.push.services.mozilla.com',
  'web.push.apple.com',
];

export interface EmulatorCredentials {
  tls: { key: string; cert: string };
  /** A Google service account key file whose token_uri is the emulator. */
  serviceAccount: { type: 'service_account'; project_id: string; private_key_id: string; private_key: string; client_email: string; token_uri: string };
  apns: { key: string; keyId: string; teamId: string };
  /** An APNs client certificate as Keychain exports it: PKCS#12, with a passphrase (certificate auth). */
  apnsCertificate: ApnsCertificate;
  vapid: { publicKey: string; privateKey: string; subject: string };
}

export interface ApnsCertificate {
  /** The .p12 file, base64. */
  pfx: string;
  passphrase: string;
  /** SHA-256 fingerprint as Node's getPeerCertificate() gives it: how the emulator knows it. */
  fingerprint256: string;
}

/** Apple's marks on a push certificate: allowed in the sandbox, in production (node-apn checks them). */
const applePushOids = ['1.2.840.113635.100.6.3.1', '1.2.840.113635.100.6.3.2'];

/**
 * An "Apple Push Services" certificate for `topic`, self-signed, in a PKCS#12 file. RSA as Apple
 * issues them; the key is made by Node (node-forge's own key generation is slow).
 */
function makeApnsCertificate(topic: string): ApnsCertificate {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomBytes(8)
    .toString('hex')
    .replace(/^[89a-f]/, '1');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  const subject = [
    { shortName: 'CN', value: `Apple Push Services: ${topic}` },
    { type: '0.9.2342.19200300.100.1.1', value: topic }, // UID: the bundle id the certificate may push to
  ];
  cert.setSubject(subject);
  cert.setIssuer([{ shortName: 'CN', value: 'pushcast emulator (not Apple)' }]);
  cert.setExtensions(applePushOids.map((id) => ({ id, value: forge.asn1.toDer(forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, '')).getBytes() })));
  cert.sign(key, forge.md.sha256.create());
  const passphrase = randomBytes(9).toString('base64url');
  const p12 = forge.pkcs12.toPkcs12Asn1(key, [cert], passphrase, { algorithm: '3des' });
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  const fingerprint256 = createHash('sha256').update(Buffer.from(der, 'binary')).digest('hex').toUpperCase().match(/../g)!.join(':');
  return { pfx: Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary').toString('base64'), passphrase, fingerprint256 };
}

/** Fresh keys for one emulator run: nothing secret is shipped in the package. */
export async function makeCredentials(host: string, apnsTopic: string): Promise<Omit<EmulatorCredentials, 'serviceAccount'> & { serviceAccountKey: string }> {
  const tls = await selfsigned.generate([{ name: 'commonName', value: 'pushcast emulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    days: 30,
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [{ type: 7, ip: '127.0.0.1' }, ...(host !== '127.0.0.1' ? [{ type: 7, ip: host }] : []), ...certificateNames.map((value) => ({ type: 2, value }))],
      },
    ],
  } as never);
  const { privateKey: serviceAccountKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const { privateKey: apnsKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const vapid = createECDH('prime256v1');
  vapid.generateKeys();
  return {
    tls: { key: tls.private, cert: tls.cert },
    serviceAccountKey,
    apnsCertificate: makeApnsCertificate(apnsTopic),
    apns: { key: apnsKey, keyId: randomBytes(5).toString('hex').toUpperCase(), teamId: randomBytes(5).toString('hex').toUpperCase() },
    vapid: {
      publicKey: vapid.getPublicKey('base64url'),
      privateKey: Buffer.concat([Buffer.alloc(32), vapid.getPrivateKey()])
        .subarray(-32)
        .toString('base64url'),
      subject: 'mailto:push-emulator@example.com',
    },
  };
}
