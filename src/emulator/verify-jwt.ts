import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export interface VerifiedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Verifies a compact JWS (RS256 or ES256) and returns its parts, or a reason it is not valid. */
export function verifyJwt(jwt: string, key: KeyObject | string, algorithm: 'RS256' | 'ES256'): VerifiedJwt | { error: string } {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { error: 'not a JWT' };
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { error: 'JWT header or claims are not JSON' };
  }
  if (header.alg !== algorithm) return { error: `JWT alg is ${String(header.alg)}, expected ${algorithm}` };
  const ok = verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    algorithm === 'ES256' ? { key: typeof key === 'string' ? createPublicKey(key) : key, dsaEncoding: 'ieee-p1363' } : key,
    Buffer.from(parts[2], 'base64url'),
  );
  return ok ? { header, claims } : { error: 'bad signature' };
}

/**
 * JWTs verified already, by what the client sent: clients reuse one for up to an hour, and a
 * provider verifies it once. One per emulator (its keys are its own); cleared past 1000.
 */
export class VerifiedJwts {
  private readonly verified = new Map<string, VerifiedJwt>();

  get(sent: string): VerifiedJwt | undefined {
    return this.verified.get(sent);
  }

  remember(sent: string, jwt: VerifiedJwt): void {
    if (this.verified.size > 1000) this.verified.clear();
    this.verified.set(sent, jwt);
  }
}

/** A raw uncompressed P-256 point (65 bytes, as VAPID's k= carries it) as a public key. */
export function p256PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') },
  });
}
