import { hashKey, keyHash } from '../domain/hash.js';
import { finalKinds, type FinalKind, type WrongSender } from '../domain/outcome.js';
import { providerNames, type ProviderName } from '../domain/recipient.js';
import type { FinalLine } from './journal.js';

/** What an earlier run left of a recipient: its last word, or that it was waiting for a retry, or maybe sent. */
export type PriorState =
  { state: 'final'; line: FinalLine } | { state: 'retry' | 'uncertain'; provider: ProviderName; line: number; /** An A/B campaign's variant. */ variant?: string };

const states = ['final', 'retry', 'uncertain'] as const;
/** A kind's place in this list is what the index stores: the order is fixed. */
const kinds: readonly FinalKind[] = finalKinds;
/** Distinct reasons, details and wrong-sender marks kept; past this a carried-over row keeps its reason but not its detail. */
const internLimit = 10_000;

/** Strings seen again and again (reasons, details), each kept once and referred to by number; 0 is none. */
class Interned<T> {
  private readonly index = new Map<string, number>();
  private readonly values: T[] = [undefined as T];

  constructor(private readonly keyOf: (value: T) => string) {}

  id(value: T | undefined): number {
    if (value === undefined) return 0;
    const key = this.keyOf(value);
    let id = this.index.get(key);
    if (id === undefined) {
      if (this.values.length > internLimit) return 0;
      id = this.values.length;
      this.values.push(value);
      this.index.set(key, id);
    }
    return id;
  }

  value(id: number): T | undefined {
    return id === 0 ? undefined : this.values[id];
  }
}

/**
 * What earlier runs left of each recipient, in typed arrays keyed by the 64-bit hash its journal
 * key spells (open addressing): about 30 bytes a recipient where a Map of parsed journal lines
 * took some 600, so resuming a campaign of millions fits in memory. It keeps what a resumed run
 * counts (state, provider, outcome, reason, detail, wrong-sender mark, line, variant), not the rest of a
 * journal line (message ids, tokens).
 */
export class PriorIndex {
  private capacity = 1 << 10;
  private count = 0;
  private hi = new Uint32Array(this.capacity);
  private lo = new Uint32Array(this.capacity);
  /** 0: empty; otherwise 1 + the index in `states`. */
  private state = new Uint8Array(this.capacity);
  /** Provider and outcome, 4 bits each. */
  private shape = new Uint8Array(this.capacity);
  private lineNumber = new Uint32Array(this.capacity);
  private reason = new Uint16Array(this.capacity);
  private detail = new Uint16Array(this.capacity);
  private wrong = new Uint16Array(this.capacity);
  /** Made at the first recipient with a variant: only an A/B campaign pays for it. */
  private variant?: Uint16Array;
  private readonly reasons = new Interned<string>((value) => value);
  private readonly details = new Interned<string>((value) => value);
  private readonly wrongSenders = new Interned<WrongSender>((value) => JSON.stringify(value));
  private readonly variants = new Interned<string>((value) => value);

  get size(): number {
    return this.count;
  }

  get(key: string): PriorState | undefined {
    const slot = this.find(...keyHash(key));
    return this.state[slot] === 0 ? undefined : this.read(slot, key);
  }

  set(key: string, value: PriorState): void {
    const [hi, lo] = keyHash(key);
    let slot = this.find(hi, lo);
    if (this.state[slot] === 0) {
      if ((this.count + 1) * 2 > this.capacity) {
        this.grow();
        slot = this.find(hi, lo);
      }
      this.count++;
      this.hi[slot] = hi;
      this.lo[slot] = lo;
    }
    this.state[slot] = states.indexOf(value.state) + 1;
    if (value.state === 'final') {
      const { p, o, r, d, w, v, line } = value.line;
      this.shape[slot] = (providerNames.indexOf(p) << 4) | kinds.indexOf(o);
      this.reason[slot] = this.reasons.id(r);
      this.detail[slot] = this.details.id(d);
      this.wrong[slot] = this.wrongSenders.id(w);
      this.setVariant(slot, v);
      this.lineNumber[slot] = line;
    } else {
      this.shape[slot] = providerNames.indexOf(value.provider) << 4;
      this.setVariant(slot, value.variant);
      this.lineNumber[slot] = value.line;
    }
  }

  private setVariant(slot: number, variant: string | undefined): void {
    const id = this.variants.id(variant);
    if (id !== 0) (this.variant ??= new Uint16Array(this.capacity))[slot] = id;
    else if (this.variant) this.variant[slot] = 0;
  }

  *values(): Generator<PriorState> {
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.state[slot] !== 0) yield this.read(slot, hashKey([this.hi[slot], this.lo[slot]]));
    }
  }

  private read(slot: number, key: string): PriorState {
    const provider = providerNames[this.shape[slot] >> 4] as ProviderName;
    const line = this.lineNumber[slot];
    const state = states[this.state[slot] - 1];
    const variant = this.variant && this.variants.value(this.variant[slot]);
    if (state !== 'final') return variant === undefined ? { state, provider, line } : { state, provider, line, variant };
    const final: FinalLine = { t: 'final', k: key, p: provider, o: kinds[this.shape[slot] & 0xf], line };
    const [r, d, w] = [this.reasons.value(this.reason[slot]), this.details.value(this.detail[slot]), this.wrongSenders.value(this.wrong[slot])];
    if (r !== undefined) final.r = r;
    if (d !== undefined) final.d = d;
    if (w !== undefined) final.w = w;
    if (variant !== undefined) final.v = variant;
    return { state: 'final', line: final };
  }

  /** The slot of a key's halves: its own, or the empty one where it would go. */
  private find(hi: number, lo: number): number {
    const mask = this.capacity - 1;
    let slot = (Math.imul(hi ^ lo, 0x9e3779b1) >>> 0) & mask;
    while (this.state[slot] !== 0 && (this.hi[slot] !== hi || this.lo[slot] !== lo)) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const old = {
      capacity: this.capacity,
      hi: this.hi,
      lo: this.lo,
      state: this.state,
      shape: this.shape,
      line: this.lineNumber,
      reason: this.reason,
      detail: this.detail,
      wrong: this.wrong,
      variant: this.variant,
    };
    this.capacity *= 2;
    this.hi = new Uint32Array(this.capacity);
    this.lo = new Uint32Array(this.capacity);
    this.state = new Uint8Array(this.capacity);
    this.shape = new Uint8Array(this.capacity);
    this.lineNumber = new Uint32Array(this.capacity);
    this.reason = new Uint16Array(this.capacity);
    this.detail = new Uint16Array(this.capacity);
    this.wrong = new Uint16Array(this.capacity);
    this.variant = old.variant && new Uint16Array(this.capacity);
    for (let from = 0; from < old.capacity; from++) {
      if (old.state[from] === 0) continue;
      const to = this.find(old.hi[from], old.lo[from]);
      this.hi[to] = old.hi[from];
      this.lo[to] = old.lo[from];
      this.state[to] = old.state[from];
      this.shape[to] = old.shape[from];
      this.lineNumber[to] = old.line[from];
      this.reason[to] = old.reason[from];
      this.detail[to] = old.detail[from];
      this.wrong[to] = old.wrong[from];
      if (this.variant) this.variant[to] = old.variant![from];
    }
  }
}
