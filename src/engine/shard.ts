import { hash64 } from '../audience/seen-set.js';

/** Shard K of N (1-based), as `--shard 2/4` writes it. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(value: string): Shard | undefined {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!match) return undefined;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return count >= 1 && index >= 1 && index <= count ? { index, count } : undefined;
}

/**
 * Whether a recipient belongs to this shard: a stable hash of its identity (provider and token,
 * or user id), the same on every machine, so N shards cover an audience once with no overlap.
 */
export function inShard(shard: Shard | undefined, identity: string): boolean {
  if (!shard || shard.count === 1) return true;
  return hash64(identity)[0] % shard.count === shard.index - 1;
}

export function shardLabel(shard: Shard | undefined): string | undefined {
  return shard && shard.count > 1 ? `${shard.index}/${shard.count}` : undefined;
}
