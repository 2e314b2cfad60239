import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { describeFileError, ExitCode, InputError, UsageError } from '../../errors.js';
import { htmlReport } from '../../report/html-report.js';
import { formatReport } from '../../report/format-report.js';
import { findJournals } from '../../journal/journal-files.js';
import { mergeRecords, recordFromJournal } from '../../report/read-campaign.js';
import { formatCampaignList, listCampaigns } from '../../report/list-campaigns.js';
import { terminalLine, terminalText, writeLine, type CliIo } from '../io.js';
import { journalsOf } from '../journals-of.js';

/** `pushcast report CAMPAIGN`: the report again, from the journal; shards merged. With no campaign, the list of them. */
export async function reportCommand(campaign: string | undefined, options: { journalDir?: string; config?: string; json?: boolean; html?: string }, io: CliIo): Promise<number> {
  const { dir } = await journalsOf(options, io);
  if (campaign === undefined) return listCommand(dir, options, io);
  const journals = await findJournals(dir, campaign);
  const record = mergeRecords(await Promise.all(journals.map(recordFromJournal)));
  if (options.html) {
    const file = resolve(io.cwd, options.html);
    await writeFile(file, htmlReport(record), { mode: 0o600 }).catch((error: unknown) => {
      throw new InputError(`--html: ${describeFileError(options.html!, error)}`, { cause: error });
    });
  }
  if (options.json) writeLine(io.stdout, JSON.stringify(record));
  else {
    if (journals.length > 1) writeLine(io.stdout, `${journals.length} shard journals merged`);
    io.stdout.write(terminalText(formatReport(record)));
  }
  return ExitCode.ok;
}

/**
 * `pushcast report`: the campaigns of the journal folder, the one that ran last first. None (an
 * empty folder, or none yet: the first send makes it) is an answer, not an error: exit 0.
 */
async function listCommand(dir: string, options: { json?: boolean; html?: string }, io: CliIo): Promise<number> {
  if (options.html) throw new UsageError("--html writes one campaign's report: name the campaign (pushcast report lists them)");
  const campaigns = await listCampaigns(dir);
  if (options.json) writeLine(io.stdout, JSON.stringify(campaigns ?? []));
  else if (!campaigns || campaigns.length === 0) writeLine(io.stdout, terminalLine(`no campaigns in ${dir}${campaigns ? '' : ' (no such folder: is --journal-dir right?)'}`));
  else io.stdout.write(terminalText(formatCampaignList(campaigns)));
  return ExitCode.ok;
}
