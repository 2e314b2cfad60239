import type { Hash64 } from '../domain/hash.js';

/**
 * A set of strings that remembers, for each, the audience line where it was first seen.
 *
 * Keys are kept as 64-bit hashes in typed arrays (12 bytes a slot) rather than as strings in a
 * `Map`, so remembering ten million 160-character tokens costs about 200 MB less and the
 * garbage collector never walks them. Two different keys share a 64-bit hash with probability
 * about n²/2⁶⁵ (3·10⁻⁸ for a million keys); such a pair would be reported as a duplicate.
 */
export class SeenSet {
  private hashes: Uint32Array; // two words a slot; 0,0 marks an empty slot
  private lines: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1 << 14) {
    let capacity = 1;
    while (capacity < initialCapacity * 2) capacity <<= 1;
    this.hashes = new Uint32Array(capacity * 2);
    this.lines = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key (by its hash); returns the line it was first seen on if it was already there, else 0. */
  addOrGetLine([a, b]: Hash64, line: number): number {
    let slot = a & this.mask;
    for (;;) {
      const ha = this.hashes[slot * 2];
      const hb = this.hashes[slot * 2 + 1];
      if (ha === 0 && hb === 0) break;
      if (ha === a && hb === b) return this.lines[slot] || 1;
      slot = (slot + 1) & this.mask;
    }
    this.hashes[slot * 2] = a;
    this.hashes[slot * 2 + 1] = b;
    this.lines[slot] = line;
    if (++this.count * 2 > this.mask + 1) this.grow();
    return 0;
  }

  has([a, b]: Hash64): boolean {
    let slot = a & this.mask;
    for (;;) {
      const ha = this.hashes[slot * 2];
      const hb = this.hashes[slot * 2 + 1];
      if (ha === 0 && hb === 0) return false;
      if (ha === a && hb === b) return true;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const oldHashes = this.hashes;
    const oldLines = this.lines;
    const capacity = (this.mask + 1) * 2;
    this.hashes = new Uint32Array(capacity * 2);
    this.lines = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < oldLines.length; i++) {
      const a = oldHashes[i * 2];
      const b = oldHashes[i * 2 + 1];
      if (a === 0 && b === 0) continue;
      let slot = a & this.mask;
      while (this.hashes[slot * 2] !== 0 || this.hashes[slot * 2 + 1] !== 0) slot = (slot + 1) & this.mask;
      this.hashes[slot * 2] = a;
      this.hashes[slot * 2 + 1] = b;
      this.lines[slot] = oldLines[i];
    }
  }
}
