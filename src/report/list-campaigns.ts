import { stat } from 'node:fs/promises';
import { localTimeText } from '../domain/zoned-time.js';
import type { CampaignStatus } from '../domain/tally.js';
import { campaignJournals } from '../journal/journal-files.js';
import { endRecord } from '../journal/read-journal.js';
import type { CampaignRecord } from './campaign-record.js';
import { mergeRecords } from './read-campaign.js';

/** One campaign of a journal folder, as `pushcast report` with no campaign lists it. */
export interface CampaignSummary {
  campaign: string;
  /** How its last run ended; `died` when that run wrote no end line (killed, a crash, a reboot; or it is still running). */
  status: CampaignStatus | 'died';
  /** When it last ran: the end of its last run, or for one that died, when its journal was last written. */
  lastRunAt: string;
  /** Its runs, every shard's, and what they did; unknown for one that died (its journal is not read whole for a list). */
  runs?: number;
  counts?: { targeted: number; accepted: number; skipped: number };
  /** Its journal files: one, or one per shard. */
  journals: string[];
}

/**
 * The campaigns of a journal folder, the one that ran last first; undefined when there is no such
 * folder. Each journal is read from its end only (its last run's report, when it ended): the
 * list costs the same whatever the campaigns' sizes.
 */
export async function listCampaigns(dir: string): Promise<CampaignSummary[] | undefined> {
  const campaigns = await campaignJournals(dir);
  if (!campaigns) return undefined;
  // One at a time: each reads up to 8 MB of a journal's end, and a folder may hold years of campaigns.
  const summaries: CampaignSummary[] = [];
  for (const [campaign, journals] of campaigns) summaries.push(await summarize(campaign, journals));
  return summaries.sort((a, b) => b.lastRunAt.localeCompare(a.lastRunAt) || a.campaign.localeCompare(b.campaign));
}

async function summarize(campaign: string, journals: string[]): Promise<CampaignSummary> {
  const ends: Array<{ record?: CampaignRecord; written: number }> = [];
  for (const path of journals) ends.push({ record: (await endRecord(path)) as CampaignRecord | undefined, written: (await stat(path)).mtime.getTime() });
  const records = ends.flatMap((end) => (end.record ? [end.record] : []));
  if (records.length < ends.length) {
    // A shard that died leaves the campaign's counts unknown too.
    return { campaign, status: 'died', lastRunAt: new Date(Math.max(...ends.map((end) => end.written))).toISOString(), journals };
  }
  const record = mergeRecords(records);
  const { targeted, accepted, skipped } = record.counts;
  return {
    campaign,
    status: record.status,
    lastRunAt: record.finishedAt,
    ...(record.overall ? { runs: record.overall.runs } : {}),
    counts: { targeted, accepted, skipped },
    journals,
  };
}

/** The list for a person: one line a campaign, in columns, its time in this machine's zone. */
export function formatCampaignList(summaries: CampaignSummary[]): string {
  const rows = summaries.map((summary) => [
    summary.campaign,
    summary.status,
    localTimeText(Date.parse(summary.lastRunAt)),
    String(summary.runs ?? '-'),
    String(summary.counts?.targeted ?? '-'),
    String(summary.counts?.accepted ?? '-'),
    String(summary.counts?.skipped ?? '-'),
    summary.journals.length > 1 ? `${summary.journals.length} shards` : '',
  ]);
  const header = ['campaign', 'status', 'last ran', 'runs', 'targeted', 'accepted', 'skipped', ''];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  // Names and words to the left, numbers to the right.
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column >= 3 && column <= 6 ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...rows.map(line)];
  if (summaries.some((summary) => summary.status === 'died')) {
    lines.push(
      '',
      'died: its last run wrote no end line: it was killed before it could report (or',
      'it is still running). pushcast report CAMPAIGN rebuilds its counts from the',
      'journal; the same send command resumes it.',
    );
  }
  return `${lines.join('\n')}\n`;
}
