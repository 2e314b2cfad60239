import { hash64, type Hash64 } from '../domain/hash.js';

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
 * Whether a recipient belongs to this shard, by the stable hash of its identity (provider and token,
 * or user id), the same on every machine, so N shards cover an audience once with no overlap.
 */
export function inShard(shard: Shard | undefined, hash: Hash64): boolean {
  if (!shard || shard.count === 1) return true;
  return hash[0] % shard.count === shard.index - 1;
}

/** Where a row with no recipient (an unreadable one) goes: by its line, so exactly one shard reports it. */
export function lineHash(line: number): Hash64 {
  return hash64(`line\u0000${line}`);
}

export function shardLabel(shard: Shard | undefined): string | undefined {
  return shard && shard.count > 1 ? `${shard.index}/${shard.count}` : undefined;
}
