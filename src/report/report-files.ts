import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FinalEvent } from '../engine/run-campaign.js';
import { csvLine } from './csv.js';
import type { SanityGuard, Suspect } from './sanity-guard.js';

/** Columns of the prune list: ready for a DELETE or UPDATE in the sender's own database. */
export const invalidColumns = ['provider', 'token', 'user_id', 'reason', 'detail', 'time'] as const;

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

  constructor(
    private readonly options: { invalidOut?: string; failedOut?: string; header: string[]; guard: SanityGuard; trustInvalid: boolean },
  ) {
    if (options.invalidOut) this.held = createWriteStream(`${options.invalidOut}.partial`, { mode: 0o600 });
    if (options.failedOut) {
      this.failed = createWriteStream(options.failedOut, { mode: 0o600 });
      this.failed.write(csvLine(options.header));
    }
  }

  onFinal(event: FinalEvent): void {
    const { recipient } = event;
    if (!recipient) return;
    if (event.kind === 'invalid' && this.held) {
      const entry: HeldInvalid = {
        group: this.options.guard.isGuarded(event) ? this.options.guard.groupOf(event) : undefined,
        row: csvLine([event.provider, recipient.token, recipient.userId, event.reason, event.detail, new Date().toISOString()]),
      };
      this.held.write(`${JSON.stringify(entry)}\n`);
    }
    const resendable = event.kind === 'failed' || (event.kind === 'skipped' && event.reason === 'not-sent');
    if (resendable && this.failed) this.failed.write(csvLine(recipient.fields));
  }

  /** Writes the prune list, leaving out (and listing apart) the tokens of suspect groups. Returns where the suspect ones went. */
  async finish(suspects: Suspect[]): Promise<{ suspectFile?: string; suspectCount: number }> {
    if (this.failed) {
      this.failed.end();
      await once(this.failed, 'finish');
    }
    if (!this.held || !this.options.invalidOut) return { suspectCount: 0 };
    this.held.end();
    await once(this.held, 'finish');
    const withheld = new Set(this.options.trustInvalid ? [] : suspects.map((suspect) => suspect.group));
    const invalidOut = this.options.invalidOut;
    const suspectFile = withheld.size > 0 ? invalidOut.replace(/(\.csv)?$/, '.suspect.csv') : undefined;
    const prune = createWriteStream(`${invalidOut}.tmp`, { mode: 0o600 });
    const suspect = suspectFile ? createWriteStream(suspectFile, { mode: 0o600 }) : undefined;
    prune.write(csvLine([...invalidColumns]));
    suspect?.write(csvLine([...invalidColumns]));
    for await (const line of createInterface({ input: createReadStream(`${invalidOut}.partial`), crlfDelay: Infinity })) {
      if (!line) continue;
      const entry = JSON.parse(line) as HeldInvalid;
      if (entry.group && withheld.has(entry.group)) {
        suspect!.write(entry.row);
        this.suspectCount++;
      } else prune.write(entry.row);
    }
    prune.end();
    suspect?.end();
    await Promise.all([once(prune, 'finish'), suspect ? once(suspect, 'finish') : undefined]);
    await rename(`${invalidOut}.tmp`, invalidOut);
    await rm(`${invalidOut}.partial`, { force: true });
    return { suspectFile, suspectCount: this.suspectCount };
  }
}
