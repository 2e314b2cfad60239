/** Two 32-bit halves of a stable 64-bit hash. */
export type Hash64 = readonly [number, number];

/** A hash as the journal and the engine name a recipient: 16 hex digits. */
export function hashKey([a, b]: Hash64): string {
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** The hash a key spells (hashKey's inverse): how compact indexes keep journal keys. */
export function keyHash(key: string): Hash64 {
  return [parseInt(key.slice(0, 8), 16) >>> 0, parseInt(key.slice(8, 16), 16) >>> 0];
}

/**
 * Two independent 32-bit hashes of a string (FNV-1a and a murmur-style mix), stable across
 * runs and machines: shards and journals depend on that. Never returns 0,0.
 */
export function hash64(key: string): Hash64 {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a >>>= 0;
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = (b ^ (b >>> 16)) >>> 0;
  if (a === 0 && b === 0) b = 1;
  return [a, b];
}
