import { createECDH, generateKeyPairSync, randomBytes } from 'node:crypto';
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
  vapid: { publicKey: string; privateKey: string; subject: string };
}

/** Fresh keys for one emulator run: nothing secret is shipped in the package. */
export async function makeCredentials(host: string): Promise<Omit<EmulatorCredentials, 'serviceAccount'> & { serviceAccountKey: string }> {
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
