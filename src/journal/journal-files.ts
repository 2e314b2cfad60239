import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFileError, InputError } from '../errors.js';

/** A campaign's journal file: one per campaign, or one per shard when N processes split it. */
export function journalPath(dir: string, campaign: string, shard: { index: number; count: number } | undefined): string {
  const label = shard && shard.count > 1 ? `.shard-${shard.index}-of-${shard.count}` : '';
  return join(dir, `${campaign}${label}.jsonl`);
}

/** The campaign a file of a journal folder is the journal of (or of one shard of), as `journalPath` names it; undefined for any other file. */
function campaignOf(name: string): string | undefined {
  return /^(.+?)(\.shard-\d+-of-\d+)?\.jsonl$/.exec(name)?.[1];
}

/** The journals of a campaign: one, or one per shard. */
export async function findJournals(dir: string, campaign: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    names = [];
  }
  const mine = names.filter((name) => campaignOf(name) === campaign).sort();
  if (mine.length === 0) throw new InputError(`no journal for campaign "${campaign}" in ${dir} (is --journal-dir right?)`);
  return mine.map((name) => join(dir, name));
}

/** Every campaign with a journal in `dir`, each with its journals (one, or one per shard); undefined when there is no such folder. */
export async function campaignJournals(dir: string): Promise<Map<string, string[]> | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError(`journal folder ${describeFileError(dir, error)}`, { cause: error });
  }
  const campaigns = new Map<string, string[]>();
  for (const name of names.sort()) {
    const campaign = campaignOf(name);
    if (campaign !== undefined) campaigns.set(campaign, [...(campaigns.get(campaign) ?? []), join(dir, name)]);
  }
  return campaigns;
}
