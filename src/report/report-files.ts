import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { describeFileError } from '../errors.js';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FinalEvent } from '../domain/outcome.js';
import { abVariantColumn } from '../domain/recipient.js';
import { csvLine } from './csv.js';
import { FailedRows } from './failed-rows.js';
import type { GuardGroupOf, PruneDecision } from '../domain/prune-decision.js';
import type { CampaignRecord } from './campaign-record.js';

/**
 * Where a campaign's tokens to prune are, or how to get them when no --invalid-out was given: a
 * re-run reads the earlier runs' invalid tokens from the journal and writes them (it sends nothing again).
 */
export function pruneListWhere(record: Pick<CampaignRecord, 'command' | 'files'>): string {
  if (record.files?.invalidOut) return `in ${record.files.invalidOut}`;
  if (record.files?.journal) return 'write them with --invalid-out FILE; a re-run writes them from the journal';
  if (record.command === 'check') return 'write them with --invalid-out FILE: check again with it (a check delivers nothing)';
  return 'write them with --invalid-out FILE next time: this run kept no journal, so running it again sends again';
}

/** Columns of the prune list: ready for a DELETE or UPDATE in the sender's own database. An A/B campaign's adds `ab_variant`. */
export const invalidColumns = ['provider', 'token', 'user_id', 'reason', 'detail', 'time'] as const;
/** The provider's own words in `detail` are free text; the token and the user id are never altered. */
const invalidFreeText: ReadonlySet<number> = new Set([invalidColumns.indexOf('detail')]);

interface HeldInvalid {
  group?: string;
  row: string;
}

/**
 * The files a campaign leaves for scripts: `--invalid-out`, tokens to prune, and `--failed-out`,
 * recipients to send again later, in the audience's own columns so it can be passed back as
 * `--audience`. Invalid rows wait in a side file until the sanity guard has seen the whole campaign.
 */
export class ReportFiles {
  private held?: WriteStream;
  private failed?: WriteStream;
  private suspectCount = 0;
  /** The first write that failed (a full disk): the campaign goes on, and `finish` says so. */
  private failure?: Error;

  /** How failed rows are written: in the audience's own delimiter, its free-text columns guarded against spreadsheet formulas. */
  private readonly failedFormat: { delimiter?: string; guarded: ReadonlySet<number> };
  private readonly failedRows: FailedRows;

  constructor(
    private readonly options: {
      invalidOut?: string;
      failedOut?: string;
      /** The audience's shape, header, delimiter and free-text columns: the failed rows go back in its own shape. */
      audience: { shape: 'devices' | 'users'; header: string[]; delimiter?: string; freeText: number[] };
      /** The sanity guard's group of an invalid answer it may hold back. */
      groupOf: GuardGroupOf;
      /** An A/B campaign: each row says its recipient's variant. */
      variants?: boolean;
    },
  ) {
    this.failedRows = new FailedRows(options.audience, Boolean(options.variants));
    this.failedFormat = { delimiter: options.audience.delimiter, guarded: this.failedRows.guarded };
    if (options.invalidOut) this.held = this.open(`${options.invalidOut}.partial`);
    if (options.failedOut) {
      this.failed = this.open(options.failedOut);
      this.failed.write(csvLine(this.failedRows.header, { delimiter: this.failedFormat.delimiter }));
    }
  }

  private open(path: string): WriteStream {
    return createWriteStream(path, { mode: 0o600 }).on('error', (error) => (this.failure ??= new Error(describeFileError(path, error))));
  }

  onFinal(event: FinalEvent): void {
    const { recipient } = event;
    if (event.kind === 'invalid' && this.held && recipient) {
      const entry: HeldInvalid = {
        group: this.options.groupOf(event),
        row: csvLine(
          [event.provider, recipient.token, recipient.userId, event.reason, event.detail, new Date().toISOString(), ...(this.options.variants ? [recipient.variant] : [])],
          {
            guarded: invalidFreeText,
          },
        ),
      };
      this.held.write(`${JSON.stringify(entry)}\n`);
    }
    const resendable = event.kind === 'failed' || (event.kind === 'skipped' && event.reason === 'not-sent');
    if (resendable && this.failed && recipient) this.failed.write(csvLine(this.failedRows.row(recipient), this.failedFormat));
  }

  /** Writes the prune list, leaving out (and listing apart) the tokens of suspect groups. Returns where the suspect ones went. */
  async finish({ withheld }: PruneDecision): Promise<{ suspectFile?: string; suspectCount: number }> {
    await Promise.all([this.failed, this.held].map((stream) => stream && this.end(stream)));
    if (this.failure) throw this.failure;
    if (!this.held || !this.options.invalidOut) return { suspectCount: 0 };
    const invalidOut = this.options.invalidOut;
    const suspectFile = withheld.size > 0 ? invalidOut.replace(/(\.csv)?$/, '.suspect.csv') : undefined;
    const prune = this.open(`${invalidOut}.tmp`);
    const suspect = suspectFile ? this.open(suspectFile) : undefined;
    const header = [...invalidColumns, ...(this.options.variants ? [abVariantColumn] : [])];
    prune.write(csvLine(header));
    suspect?.write(csvLine(header));
    for await (const line of createInterface({ input: createReadStream(`${invalidOut}.partial`), crlfDelay: Infinity })) {
      if (!line) continue;
      const entry = JSON.parse(line) as HeldInvalid;
      if (entry.group && withheld.has(entry.group)) {
        suspect!.write(entry.row);
        this.suspectCount++;
      } else prune.write(entry.row);
    }
    await Promise.all([this.end(prune), suspect && this.end(suspect)]);
    if (this.failure) throw this.failure;
    await rename(`${invalidOut}.tmp`, invalidOut);
    await rm(`${invalidOut}.partial`, { force: true });
    return { suspectFile, suspectCount: this.suspectCount };
  }

  /** Ends a stream; settles when it finished or failed (the failure is kept in `failure`). */
  private async end(stream: WriteStream): Promise<void> {
    if (!stream.destroyed) stream.end();
    if (!stream.closed) await once(stream, 'close').catch(() => undefined);
  }
}
