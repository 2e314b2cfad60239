import { createDecipheriv, hkdfSync, type ECDH } from 'node:crypto';

/**
 * Decrypts an aes128gcm web push message (RFC 8291 on RFC 8188) as the browser would, with the
 * subscription's private key and auth secret. Throws if the record is malformed or does not authenticate.
 */
export function decryptWebPush(body: Buffer, subscriber: ECDH, auth: Buffer): string {
  if (body.length < 21 + 65 + 17) throw new Error(`body of ${body.length} bytes is too short for an aes128gcm record`);
  const salt = body.subarray(0, 16);
  const idLength = body[20];
  if (idLength !== 65) throw new Error(`keyid is ${idLength} bytes; expected the 65-byte sender public key`);
  const senderPublicKey = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  const ikm = Buffer.from(
    hkdfSync('sha256', subscriber.computeSecret(senderPublicKey), auth, Buffer.concat([Buffer.from('WebPush: info\0'), subscriber.getPublicKey(), senderPublicKey]), 32),
  );
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(-16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, -16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('the last record lacks its padding delimiter (0x02)');
  return padded.subarray(0, end).toString('utf8');
}
