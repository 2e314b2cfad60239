import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * A campaign's id when none is given: a hash of the audience and message files' contents, so
 * running the same command again (after a crash, from cron) is recognised as the same campaign.
 */
export async function deriveCampaignId(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    hash.update('\u0000');
  }
  return `c-${hash.digest('hex').slice(0, 16)}`;
}
