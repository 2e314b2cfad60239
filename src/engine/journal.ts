import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { ProviderName } from '../domain/recipient.js';
import { JournalError } from '../errors.js';
import type { FinalKind } from './tally.js';

/**
 * A campaign's journal: one JSON object a line, appended.
 *  - `run`: a run started (campaign, shard, pushcast version).
 *  - `sent`: a batch is about to go out; written and fsynced before the first request.
 *  - `retry`: a recipient got a definite "not now" (429, 503, refused stream): not delivered.
 *  - `final`: a recipient's last word: accepted, invalid, rejected or failed.
 * A recipient whose last line is `sent` was in flight when the process died: uncertain.
 * The last line may be torn by a crash; it is ignored.
 */
export type JournalLine =
  | { t: 'run'; campaign: string; shard?: string; at: string; version: string }
  | { t: 'sent'; p: ProviderName; k: string[] }
  | { t: 'retry'; k: string }
  | { t: 'final'; k: string; p: ProviderName; o: FinalKind; r?: string; d?: string; line: number; token?: string; user?: string; id?: string }
  /** A run ended (not after a crash): its report, for `pushcast report`. */
  | { t: 'end'; record: unknown };

/** What an earlier run left for a recipient. */
export type PriorState = { state: 'final'; line: Extract<JournalLine, { t: 'final' }> } | { state: 'retry' } | { state: 'uncertain' };

export async function readJournal(path: string): Promise<{ prior: Map<string, PriorState>; runs: number; lines: number; torn: boolean }> {
  const prior = new Map<string, PriorState>();
  let runs = 0;
  let lines = 0;
  let torn = false;
  let stream;
  try {
    stream = createReadStream(path, { encoding: 'utf8' });
    await new Promise((resolve, reject) => stream!.once('open', resolve).once('error', reject));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { prior, runs, lines, torn };
    throw error;
  }
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (text === '') continue;
    let entry: JournalLine;
    try {
      entry = JSON.parse(text) as JournalLine;
    } catch {
      torn = true; // only a crash mid-write makes a bad line, and only the last can be
      continue;
    }
    lines++;
    switch (entry.t) {
      case 'run':
        runs++;
        break;
      case 'sent':
        for (const key of entry.k) if (prior.get(key)?.state !== 'final') prior.set(key, { state: 'uncertain' });
        break;
      case 'retry':
        if (prior.get(entry.k)?.state !== 'final') prior.set(entry.k, { state: 'retry' });
        break;
      case 'final':
        prior.set(entry.k, { state: 'final', line: entry });
        break;
    }
  }
  return { prior, runs, lines, torn };
}

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

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async open(path: string, run: Omit<Extract<JournalLine, { t: 'run' }>, 't' | 'at'>): Promise<JournalWriter> {
    let handle: FileHandle;
    try {
      await mkdir(dirname(path), { recursive: true });
      handle = await open(path, 'a', 0o600);
    } catch (error) {
      throw new JournalError(path, error);
    }
    const writer = new JournalWriter(handle, path);
    // A torn last line from a crash gets its own line: start on a fresh one.
    writer.append({ t: 'run', ...run, at: new Date().toISOString() }, true);
    try {
      await writer.flush(true);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    return writer;
  }

  /** Before a batch goes out: durable, so a crash can never forget something was maybe sent. Throws if it cannot be. */
  async sent(provider: ProviderName, keys: string[]): Promise<void> {
    this.append({ t: 'sent', p: provider, k: keys });
    await this.flush(true);
  }

  retry(key: string): void {
    this.append({ t: 'retry', k: key });
  }

  final(line: Omit<Extract<JournalLine, { t: 'final' }>, 't'>): void {
    this.append({ t: 'final', ...line });
  }

  /** Called once, with the first write that failed. */
  onFailure(listener: (error: JournalError) => void): void {
    if (this.failure) listener(this.failure);
    else this.failureListeners.push(listener);
  }

  /** The run's report, last: `pushcast report` reads it back. A journal that failed already gets none. */
  async end(record: unknown): Promise<void> {
    this.append({ t: 'end', record });
    await this.flush(true).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.flush(true).catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  private append(line: JournalLine, leadingNewline = false): void {
    if (this.failure) return;
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
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    if (bytesWritten === 0) throw Object.assign(new Error('the disk took none of the data'), { code: 'EIO' });
    offset += bytesWritten;
  }
}
