import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { describeFileError, ExitCode, InputError } from '../../errors.js';
import { htmlReport } from '../../report/html-report.js';
import { formatReport } from '../../report/format-report.js';
import { findJournals } from '../../journal/journal-files.js';
import { mergeRecords, recordFromJournal } from '../../report/read-campaign.js';
import { terminalText, writeLine, type CliIo } from '../io.js';
import { defaultJournalDir } from '../../config/defaults.js';

/** `pushcast report CAMPAIGN`: the report again, from the journal; shards merged. */
export async function reportCommand(campaign: string, options: { journalDir?: string; json?: boolean; html?: string }, io: CliIo): Promise<number> {
  const journals = await findJournals(resolve(io.cwd, options.journalDir ?? defaultJournalDir), campaign);
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
