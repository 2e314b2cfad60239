import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { derivedCampaignId } from '../domain/campaign-id-form.js';
import type { VariantPlan } from './variants.js';

/** What a campaign's default id is derived from, beside its message: the audience file, a channel, or both. */
export interface CampaignIdentity {
  audienceFile?: string;
  channel?: string;
  /** The --where query's text: another query is another campaign. */
  where?: string;
  /** An A/B campaign's variant files (the first is the message file) and split. */
  variants?: { files: string[]; spec: string };
}

/**
 * A campaign's id when none is given: a hash of the audience file's and the message file's
 * contents (and the channel's name, for a channel, and the --where query), so running the same command again (after a
 * crash, from cron) is recognised as the same campaign, and another message is another campaign.
 */
export async function deriveCampaignId(identity: CampaignIdentity, messageFile: string): Promise<string> {
  const hash = createHash('sha256');
  const add = async (file: string) => {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    hash.update('\u0000');
  };
  // A file audience hashes as it always did, so its journal from an earlier version still resumes.
  if (identity.audienceFile === undefined) hash.update(`channel\u0000${identity.channel ?? '*'}\u0000`);
  else await add(identity.audienceFile);
  await add(messageFile);
  if (identity.audienceFile !== undefined && identity.channel !== undefined) hash.update(`channel\u0000${identity.channel}\u0000`);
  if (identity.where !== undefined) hash.update(`where\u0000${identity.where}\u0000`);
  // An A/B campaign: every variant's message after the first, and the split.
  for (const file of identity.variants?.files.slice(1) ?? []) await add(file);
  if (identity.variants) hash.update(`variants\u0000${identity.variants.spec}\u0000`);
  return derivedCampaignId(hash.digest('hex'));
}

/** The SHA-256 of a message file's contents (an A/B campaign's: of every variant's, and the split): which version of the message a run sent. */
export async function messageDigest(file: string, variants?: VariantPlan): Promise<string> {
  const hash = createHash('sha256');
  if (!variants) return hash.update(await readFile(file)).digest('hex');
  for (const variant of variants.variants) hash.update(await readFile(variant.messageFile)).update('\u0000');
  return hash.update(variants.spec).digest('hex');
}
