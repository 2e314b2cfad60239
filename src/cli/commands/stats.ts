import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describeFileError, ExitCode, InputError, throwIfInterrupted } from '../../errors.js';
import { htmlReport } from '../../report/html-report.js';
import { findJournals } from '../../journal/journal-files.js';
import { variantAnalyticsLabel } from '../../providers/fcm/analytics-label.js';
import { listDeliveryData } from '../../providers/fcm/delivery-data.js';
import { campaignStats, formatStats } from '../../report/delivery-stats.js';
import { mergeRecords, recordFromJournal } from '../../report/read-campaign.js';
import { terminalText, writeLine, type CliIo } from '../io.js';
import { journalsOf } from '../journals-of.js';

/**
 * `pushcast stats CAMPAIGN`: the campaign's report beside what FCM's delivery data says of its
 * analytics label on the days it sent (delivered, pending, collapsed, dropped, and the delays);
 * an A/B campaign's variant by variant, each of its own label.
 */
export async function statsCommand(campaign: string, options: { journalDir?: string; config?: string; json?: boolean; html?: string }, io: CliIo): Promise<number> {
  const { config, dir } = await journalsOf(options, io);
  const journals = await findJournals(dir, campaign);
  const record = mergeRecords(await Promise.all(journals.map(recordFromJournal)));
  const label = record.fcm?.analyticsLabel;
  if (!label) {
    throw new InputError(
      record.providers.fcm.targeted === 0
        ? `campaign ${campaign} sent nothing through FCM: FCM's delivery data has nothing of it`
        : `campaign ${campaign}'s FCM messages carried no analytics label (sent with --no-label, or before pushcast labelled them): FCM's delivery data cannot tell them apart`,
    );
  }
  const entries = await listDeliveryData(config, io.signal);
  throwIfInterrupted(io.signal, "while reading FCM's delivery data");
  // An A/B campaign's messages carried their variant's label: each is read apart.
  const variantLabels = new Map(record.ab?.variants.map((variant) => [variant.name, variantAnalyticsLabel(label, variant.name)]));
  const stats = campaignStats(record, label, entries, variantLabels);
  if (options.html) {
    await writeFile(resolve(io.cwd, options.html), htmlReport(record, { deliveryData: stats }), { mode: 0o600 }).catch((error: unknown) => {
      throw new InputError(`--html: ${describeFileError(options.html!, error)}`, { cause: error });
    });
  }
  if (options.json) writeLine(io.stdout, JSON.stringify(stats));
  else io.stdout.write(terminalText(formatStats(stats)));
  return ExitCode.ok;
}
