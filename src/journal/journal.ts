import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { VariantsPlan } from '../domain/ab-record.js';
import type { FinalKind, WrongSender } from '../domain/outcome.js';
import type { DeviceRecipient, ProviderName } from '../domain/recipient.js';
import { JournalError } from '../errors.js';

/**
 * A campaign's journal: one JSON object a line, appended.
 *  - `run`: a run started (campaign, shard, pushcast version, the message it sends and its SHA-256).
 *  - `sent`: a batch is about to go out; written and fsynced before the first request. `s` numbers
 *    it within the run, `at` is when (ms since the epoch), `l` each recipient's line in the audience.
 *  - `ok`: a batch answered: `i` lists, as ranges of their places in its `sent` line ("0-211,213-499"),
 *    the recipients accepted. Most recipients are accepted: one short line a batch, not one each,
 *    keeps the journal near 27 bytes a recipient.
 *  - `retry`: a recipient not delivered and not given up on (a 429 or 503, a refused stream, a
 *    wrong sender, a stop): a later run sends it.
 *  - `final`: a recipient's last word other than accepted: invalid, rejected or failed (journals
 *    before `ok` existed also have accepted ones).
 *  - `time`: written at most once a second while lines are written, so a crashed run's report
 *    knows how long it ran.
 *  - `end`: a run ended (not after a crash): its report, for `pushcast report`, and what the
 *    campaign's history keeps of it (`summary`).
 * A recipient whose last line is `sent` was in flight when the process died: uncertain.
 * An A/B campaign's lines say each recipient's variant, so that a died run's report counts by
 * variant: `retry` and `final` by name (`v`), `sent` one character a recipient, beside `k` (`v`: the
 * variant's place in the run line's `ab.variants` as a base-36 digit, `-` for none).
 * The last line may be torn by a crash; it is ignored. read-journal.ts reads it back.
 */
export type JournalLine =
  | RunLine
  | { t: 'sent'; p: ProviderName; s?: number; k: string[]; l: number[]; v?: string; at: number }
  | { t: 'ok'; s: number; i: string }
  | { t: 'retry'; k: string; p: ProviderName; line: number; v?: string }
  | FinalLine
  | { t: 'time'; at: number }
  | { t: 'end'; record: unknown; summary?: RunEnd };

/** The message a run sends, as its file was named and its contents' SHA-256: a campaign sends one message. */
export interface MessageIdentity {
  file: string;
  sha256: string;
}

/**
 * `anchor`: a scheduled campaign's reference moment, set by its first run and kept by every later
 * one. `changedMessage`: this run was told to send another message than the runs before it.
 */
export type RunLine = {
  t: 'run';
  campaign: string;
  shard?: string;
  at: string;
  version: string;
  anchor?: string;
  message?: MessageIdentity;
  changedMessage?: true;
  /** The analytics label the run's FCM messages carried: `pushcast stats` reads it, also of a run that died. */
  fcmLabel?: string;
  /** An A/B campaign's variants and holdout: a died run's report counts by them. */
  ab?: VariantsPlan;
};

/** What a run that ended says of itself, beside its report: a campaign's history is made of these. */
export interface RunEnd {
  status: string;
  exitCode: number;
  finishedAt: string;
  /** Times a provider waited out a quota or its connection. */
  pauses: number;
  /** Its sends over time (report/timeline.ts's record), when it sent anything: the campaign's chart. */
  timeline?: unknown;
}
export type FinalLine = {
  t: 'final';
  k: string;
  p: ProviderName;
  o: FinalKind;
  r?: string;
  d?: string;
  line: number;
  /** The answer's wrong-sender mark: the sanity guard weighs it on a later run too. */
  w?: WrongSender;
  /** An invalid token's own value and user: the prune list needs them. */
  token?: string;
  user?: string;
  id?: string;
  /** An A/B campaign's variant the recipient got. */
  v?: string;
};

/** How often, at most, the writer notes the time. */
const timeEveryMs = 1000;

/**
 * Appends to a journal: intents durably (fsync per batch), outcomes promptly (written, fsynced
 * with the next batch). The first failure to write stops the writer: later lines are dropped,
 * `sent` throws (so the batch it was for never goes out), and `onFailure` listeners are told once.
 */
export class JournalWriter {
  private buffer: string[] = [];
  private writing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private failure?: JournalError;
  private readonly failureListeners: Array<(error: JournalError) => void> = [];
  private timeNotedAt = 0;
  private batches = 0;
  /** An A/B campaign's variants, by name: the digit a `sent` line writes for each. */
  private readonly variantDigits = new Map<string, string>();

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  /** Opens the journal for a run, which started at `run.at` (now, if not given): its report says the same moment. */
  static async open(path: string, run: Omit<RunLine, 't' | 'at'> & { at?: string }): Promise<JournalWriter> {
    let handle: FileHandle;
    try {
      await mkdir(dirname(path), { recursive: true });
      handle = await open(path, 'a', 0o600);
    } catch (error) {
      throw new JournalError(path, error);
    }
    const writer = new JournalWriter(handle, path);
    run.ab?.variants.forEach((variant, place) => writer.variantDigits.set(variant.name, place.toString(36)));
    writer.timeNotedAt = Date.now(); // the run line says when
    // A torn last line from a crash gets its own line: start on a fresh one.
    writer.append({ t: 'run', ...run, at: run.at ?? new Date().toISOString() }, true);
    try {
      await writer.flush(true);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    return writer;
  }

  /**
   * Before a batch goes out: durable, so a crash can never forget something was maybe sent. Throws
   * if it cannot be. Returns the batch's number, for its `ok` line.
   */
  async sent(provider: ProviderName, recipients: readonly DeviceRecipient[]): Promise<number> {
    const at = Date.now();
    this.timeNotedAt = at;
    const s = this.batches++;
    const variants =
      this.variantDigits.size > 0 ? { v: recipients.map((recipient) => (recipient.variant !== undefined && this.variantDigits.get(recipient.variant)) || '-').join('') } : {};
    this.append({ t: 'sent', p: provider, s, k: recipients.map((recipient) => recipient.key), l: recipients.map((recipient) => recipient.line), ...variants, at });
    await this.flush(true);
    return s;
  }

  /** A batch answered: which of its recipients (by place) were accepted. Written for every answered batch, so a reader can forget the batch. */
  accepted(batch: number, places: readonly number[]): void {
    this.append({ t: 'ok', s: batch, i: toRanges(places) });
  }

  retry(recipient: DeviceRecipient): void {
    this.append({ t: 'retry', k: recipient.key, p: recipient.provider, line: recipient.line, ...(recipient.variant !== undefined ? { v: recipient.variant } : {}) });
  }

  final(line: Omit<FinalLine, 't'>): void {
    this.append({ t: 'final', ...line });
  }

  /** Called once, with the first write that failed. */
  onFailure(listener: (error: JournalError) => void): void {
    if (this.failure) listener(this.failure);
    else this.failureListeners.push(listener);
  }

  /** The run's report and its summary, last: `pushcast report` reads them back. A journal that failed already gets none. */
  async end(record: unknown, summary: RunEnd): Promise<void> {
    this.append({ t: 'end', record, summary });
    await this.flush(true).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.flush(true).catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  private append(line: JournalLine, leadingNewline = false): void {
    if (this.failure) return;
    const now = Date.now();
    if (now - this.timeNotedAt >= timeEveryMs && line.t !== 'run') {
      this.timeNotedAt = now;
      this.buffer.push(`${JSON.stringify({ t: 'time', at: now } satisfies JournalLine)}\n`);
    }
    this.buffer.push(`${leadingNewline ? '\n' : ''}${JSON.stringify(line)}\n`);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush(false).catch(() => undefined)); // a failure has reached the listeners
    }
  }

  private flush(durable: boolean): Promise<void> {
    this.flushScheduled = false;
    const text = this.buffer.join('');
    this.buffer = [];
    this.writing = this.writing.then(async () => {
      if (this.failure) return;
      try {
        if (text) await writeAll(this.handle, Buffer.from(text));
        if (durable) await this.handle.sync();
      } catch (error) {
        this.failure = new JournalError(this.path, error);
        for (const listener of this.failureListeners.splice(0)) listener(this.failure);
      }
    });
    return this.writing.then(() => {
      if (this.failure) throw this.failure;
    });
  }
}

/** Writes the whole buffer: on a nearly full disk a write may take only part of it, without an error. */
async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    if (bytesWritten === 0) throw Object.assign(new Error('the disk took none of the data'), { code: 'EIO' });
    offset += bytesWritten;
  }
}

/** Ascending places as ranges: [0, 1, 2, 5] → "0-2,5". */
export function toRanges(places: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < places.length;) {
    let j = i;
    while (j + 1 < places.length && places[j + 1] === places[j] + 1) j++;
    parts.push(i === j ? String(places[i]) : `${places[i]}-${places[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The places toRanges wrote. */
export function fromRanges(ranges: string): number[] {
  const places: number[] = [];
  if (ranges === '') return places;
  for (const part of ranges.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let place = from; place <= to; place++) places.push(place);
  }
  return places;
}

/** The variant a `sent` line's digit names, by the run line's plan. */
export function variantOfDigit(run: RunLine | undefined, digits: string | undefined, place: number): string | undefined {
  const digit = digits?.[place];
  return digit === undefined || digit === '-' ? undefined : run?.ab?.variants[parseInt(digit, 36)]?.name;
}
