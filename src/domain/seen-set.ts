import type { Hash64 } from './hash.js';

/** Lines past this are kept as "an earlier line": 24 bits of a slot hold the line. */
const maxLine = 0xffffff;
/** Fuller than this, linear probing slows; a table this full grows. */
const maxLoad = 0.8;

/**
 * A set of strings that remembers, for each, the audience line where it was first seen.
 *
 * Each key takes one 8-byte slot of a typed array, not a string in a `Map`: its hash's second
 * word, and beside it 8 more bits of the hash and the line. The slot is found from that second
 * word, so the table grows without the keys. A million keys take about 11 MB. Two keys are taken
 * for one when those 40 bits agree, about once in 2⁴⁰ comparisons of slots; a campaign of a
 * million rows makes about two million, so one such campaign in about 500,000 would skip a row
 * as the duplicate of another (and say so, with both lines).
 *
 * Given `shareRead` (how much of the input has been read, 0 to 1), the table's first growth
 * sizes it for the whole input, so a large audience does not hold an old table and its
 * double at once at every doubling.
 */
export class SeenSet {
  private slots: Uint32Array; // two words a slot: the hash's second word; 8 bits of its first and the line. 0,0 is empty
  private capacity: number;
  private count = 0;

  constructor(private readonly shareRead?: () => number) {
    this.capacity = 1 << 14;
    this.slots = new Uint32Array(this.capacity * 2);
  }

  /** Adds the key (by its hash); returns 0 if it is new, else the line it was first seen on (-1: an earlier line past 16,777,214). */
  addOrGetLine([a, b]: Hash64, line: number): number {
    const tagged = (((a & 0xff) << 24) | Math.min(line, maxLine)) >>> 0; // never 0: lines start at 1
    const slots = this.slots;
    let slot = this.home(b);
    for (;;) {
      const word = slots[slot * 2 + 1];
      if (word === 0) break;
      if (slots[slot * 2] === b && word >>> 24 === (a & 0xff)) {
        const first = word & maxLine;
        return first === maxLine ? -1 : first;
      }
      if (++slot === this.capacity) slot = 0;
    }
    slots[slot * 2] = b;
    slots[slot * 2 + 1] = tagged;
    if (++this.count > this.capacity * maxLoad) this.grow();
    return 0;
  }

  private home(b: number): number {
    return Math.floor((b * this.capacity) / 4294967296);
  }

  private grow(): void {
    const share = this.shareRead?.() ?? 0;
    // Early in a file, what has been read says how many keys are to come; 10% more covers the read-ahead.
    const expected = share > 0 && share < 1 ? (this.count / share) * 1.1 : 0;
    const old = this.slots;
    const oldCapacity = this.capacity;
    this.capacity = Math.ceil(Math.max(this.count * (share > 0 ? 1.25 : 2), expected) / maxLoad);
    this.slots = new Uint32Array(this.capacity * 2);
    for (let i = 0; i < oldCapacity; i++) {
      const b = old[i * 2];
      const word = old[i * 2 + 1];
      if (word === 0) continue;
      let slot = this.home(b);
      while (this.slots[slot * 2 + 1] !== 0) if (++slot === this.capacity) slot = 0;
      this.slots[slot * 2] = b;
      this.slots[slot * 2 + 1] = word;
    }
  }
}
