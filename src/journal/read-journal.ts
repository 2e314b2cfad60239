import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { SeenSet } from '../domain/seen-set.js';
import { throwIfInterrupted } from '../errors.js';
import { keyHash } from '../domain/hash.js';
import type { FinalEvent } from '../domain/outcome.js';
import { fromRanges, variantOfDigit, type JournalLine, type MessageIdentity, type RunEnd, type RunLine } from './journal.js';
import { PriorIndex, type PriorState } from './prior-index.js';

/**
 * What the runs so far left for one recipient: the only reading of a journal, so that a resumed
 * run and `pushcast report` always agree.
 *  - `final`: settled; counted as it was, never sent again.
 *  - `retry`: not delivered and not given up on: the next run sends it.
 *  - `uncertain`: sent with no answer (the process stopped, or a timeout): maybe delivered, sent
 *    again only with --resend-uncertain.
 */
export type { PriorState };

/** One run in a journal: when it started and last wrote, what it sent, and how it ended, if it did. */
export interface JournalRun {
  run: RunLine;
  startedAt: number;
  lastWriteAt: number;
  /** Requests it made, retries included, and how many of them were retries. */
  sends: number;
  retries: number;
  /** It ended rather than died (its `end` line). */
  ended: boolean;
  /** What it said of itself when it ended; none if it died (or was written before runs said so). */
  end?: RunEnd;
  /** Its own report, when it ended rather than died: kept for the last run only. */
  record?: unknown;
}

export interface JournalState {
  prior: PriorIndex;
  /** Every run, in order: the campaign's history. */
  runs: JournalRun[];
  /** A last line cut short by a crash was skipped. */
  torn: boolean;
  lastRun?: JournalRun;
  /** A scheduled campaign's reference moment: its first run's anchor (or start). */
  anchor?: number;
  /** The message the campaign sends: the latest one a run named (journals before runs named one have none). */
  message?: MessageIdentity;
}

/** Lines read between looks at the signal: a journal of a million recipients takes many seconds to read. */
const linesBetweenLooks = 16_384;

/** Reads a journal whole. With a signal, a Ctrl-C stops the reading (`InterruptedError`). */
export async function readJournal(path: string, signal?: AbortSignal): Promise<JournalState> {
  const state: JournalState = { prior: new PriorIndex(), runs: [], torn: false };
  let stream;
  try {
    stream = createReadStream(path, { encoding: 'utf8' });
    await new Promise((resolve, reject) => stream!.once('open', resolve).once('error', reject));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return state;
    throw error;
  }
  const { prior } = state;
  // Typed, not a Set of strings: a million keys as strings were most of a resume's peak memory.
  let sentThisRun = new SeenSet();
  // This run's batches not answered yet, by number: an `ok` line names its recipients by place.
  let unanswered = new Map<number, JournalLine & { t: 'sent' }>();
  let lines = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (++lines % linesBetweenLooks === 0 && signal?.aborted) {
      stream.destroy();
      throwIfInterrupted(signal, `while reading the journal ${path}`);
    }
    if (text === '') continue;
    let entry: JournalLine;
    try {
      entry = JSON.parse(text) as JournalLine;
    } catch {
      state.torn = true; // only a crash mid-write makes a bad line, and only the last can be
      continue;
    }
    const last = state.lastRun;
    switch (entry.t) {
      case 'run': {
        const startedAt = Date.parse(entry.at);
        state.anchor ??= Date.parse(entry.anchor ?? entry.at);
        if (entry.message) state.message = entry.message;
        // Only the last run's report is wanted (pushcast report): an earlier one keeps its summary.
        if (last) delete last.record;
        state.lastRun = { run: entry, startedAt, lastWriteAt: startedAt, sends: 0, retries: 0, ended: false };
        state.runs.push(state.lastRun);
        sentThisRun = new SeenSet();
        unanswered = new Map();
        break;
      }
      case 'sent':
        entry.k.forEach((key, index) => {
          if (prior.get(key)?.state !== 'final')
            prior.set(key, { state: 'uncertain', provider: entry.p, line: entry.l?.[index] ?? 0, variant: variantOfDigit(last?.run, entry.v, index) });
          if (sentThisRun.addOrGetLine(keyHash(key), 1) !== 0 && last) last.retries++;
        });
        if (last) {
          last.sends += entry.k.length;
          last.lastWriteAt = Math.max(last.lastWriteAt, entry.at ?? 0);
        }
        if (entry.s !== undefined) unanswered.set(entry.s, entry);
        break;
      case 'ok': {
        const batch = unanswered.get(entry.s);
        unanswered.delete(entry.s);
        for (const place of batch ? fromRanges(entry.i) : []) {
          const key = batch!.k[place];
          const variant = variantOfDigit(last?.run, batch!.v, place);
          prior.set(key, { state: 'final', line: { t: 'final', k: key, p: batch!.p, o: 'accepted', line: batch!.l[place], ...(variant ? { v: variant } : {}) } });
        }
        break;
      }
      case 'retry':
        if (prior.get(entry.k)?.state !== 'final') prior.set(entry.k, { state: 'retry', provider: entry.p, line: entry.line, variant: entry.v });
        break;
      case 'final':
        prior.set(entry.k, { state: 'final', line: entry });
        break;
      case 'time':
        if (last) last.lastWriteAt = Math.max(last.lastWriteAt, entry.at);
        break;
      case 'end':
        if (last) {
          last.ended = true;
          last.record = entry.record;
          last.end = entry.summary;
        }
        break;
    }
  }
  return state;
}

/**
 * What a run makes of a recipient an earlier run left: the event it counts without sending, or
 * undefined when it sends it (again). Resume and `pushcast report` both read the journal through this.
 */
export function carriedOver(state: PriorState, resendUncertain: boolean): Omit<FinalEvent, 'line' | 'recipient'> | undefined {
  if (state.state === 'final') {
    const { o, p, r, d, id, w } = state.line;
    return { kind: o, provider: p, reason: r, detail: d, id, wrongSender: w, attempts: 0 };
  }
  if (state.state === 'uncertain' && !resendUncertain) {
    return {
      kind: 'uncertain',
      provider: state.provider,
      reason: 'unanswered-earlier',
      detail: 'an earlier run sent it and got no answer (a timeout, or the process stopped); it may have been delivered. --resend-uncertain sends it again',
      attempts: 0,
    };
  }
  return undefined;
}

/**
 * A recipient with the variant an earlier run gave it, as its journal says: drawn again it is the
 * same, but an audience's ab_variant column may have changed since, and what was sent stands.
 * With `sendable`, one sent again keeps it only if this run has that variant's message.
 */
export function keptVariant<R extends { variant?: string }>(recipient: R, prior: PriorState | undefined, sendable?: (variant: string) => boolean): R {
  const kept = prior && priorVariant(prior);
  if (kept === undefined || kept === recipient.variant || (sendable && !sendable(kept))) return recipient;
  return { ...recipient, variant: kept };
}

/** The A/B variant the journal says an earlier run gave a recipient. */
export function priorVariant(state: PriorState): string | undefined {
  return state.state === 'final' ? state.line.v : state.variant;
}

/** How much of a journal's end is read for its last run's report: the record lists at most `listedLimit` rows of each kind (report/campaign-record.ts). */
const tailBytes = 8 << 20;

/**
 * The report a journal ends with, when its last run ended rather than died: read from the end of
 * the file, so `pushcast report` of a finished campaign of any size costs the same.
 * Undefined when the last line is not a report: the whole journal must be read.
 */
export async function endRecord(path: string): Promise<unknown> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, tailBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8').trimEnd();
    const last = text.slice(text.lastIndexOf('\n') + 1);
    if (!last.startsWith('{"t":"end"')) return undefined;
    try {
      return (JSON.parse(last) as { record: unknown }).record;
    } catch {
      return undefined;
    }
  } finally {
    await handle.close();
  }
}
