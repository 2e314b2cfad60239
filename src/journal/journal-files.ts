import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';

/** A campaign's journal file: one per campaign, or one per shard when N processes split it. */
export function journalPath(dir: string, campaign: string, shard: { index: number; count: number } | undefined): string {
  const label = shard && shard.count > 1 ? `.shard-${shard.index}-of-${shard.count}` : '';
  return join(dir, `${campaign}${label}.jsonl`);
}

/** The journals of a campaign: one, or one per shard. */
export async function findJournals(dir: string, campaign: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    names = [];
  }
  const mine = names.filter((name) => name === `${campaign}.jsonl` || (name.startsWith(`${campaign}.shard-`) && name.endsWith('.jsonl'))).sort();
  if (mine.length === 0) throw new InputError(`no journal for campaign "${campaign}" in ${dir} (is --journal-dir right?)`);
  return mine.map((name) => join(dir, name));
}
