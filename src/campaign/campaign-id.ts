import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { derivedCampaignId } from '../domain/campaign-id-form.js';

/** What a campaign's default id is derived from, beside its message: the audience file, a channel, or both. */
export interface CampaignIdentity {
  audienceFile?: string;
  channel?: string;
  /** The --where query's text: another query is another campaign. */
  where?: string;
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
  return derivedCampaignId(hash.digest('hex'));
}

/** The SHA-256 of a message file's contents: which version of the message a run sent. */
export async function messageDigest(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}
