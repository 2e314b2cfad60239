import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { providerNames } from '../domain/recipient.js';
import type { JournalLine } from '../engine/journal.js';
import { countFinal, emptyCounts, emptyTally, type ProviderCounts } from '../engine/tally.js';
import { InputError } from '../errors.js';
import { buildRecord, RecordLists, type CampaignRecord } from './campaign-record.js';

/** The journals of a campaign: one, or one per shard. */
export async function findJournals(dir: string, campaign: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    names = [];
  }
  const mine = names.filter((name) => name === `${campaign}.jsonl` || (name.startsWith(`${campaign}.shard-`) && name.endsWith('.jsonl'))).sort();
  if (mine.length === 0) throw new InputError(`no journal for campaign "${campaign}" in ${dir} (is --journal-dir right?)`);
  return mine.map((name) => join(dir, name));
}

/**
 * A campaign's report from its journal: the last run's own record when it ended, otherwise (the
 * process died) one rebuilt from the settled answers, with the ones in flight as uncertain.
 */
export async function recordFromJournal(path: string): Promise<CampaignRecord> {
  const lines: JournalLine[] = [];
  for (const text of (await readFile(path, 'utf8')).split('\n')) {
    if (!text) continue;
    try {
      lines.push(JSON.parse(text) as JournalLine);
    } catch {
      // a line torn by a crash
    }
  }
  const lastRun = lines.findLastIndex((line) => line.t === 'run');
  const lastEnd = lines.findLastIndex((line) => line.t === 'end');
  if (lastEnd > lastRun) return (lines[lastEnd] as Extract<JournalLine, { t: 'end' }>).record as CampaignRecord;

  const run = lines[lastRun] as Extract<JournalLine, { t: 'run' }> | undefined;
  const state = new Map<string, Extract<JournalLine, { t: 'final' }> | 'open'>();
  const providerOf = new Map<string, (typeof providerNames)[number]>();
  for (const line of lines) {
    if (line.t === 'sent') for (const key of line.k) {
      if (!state.has(key) || state.get(key) === 'open') state.set(key, 'open');
      providerOf.set(key, line.p);
    }
    if (line.t === 'final') state.set(line.k, line);
  }
  const tally = emptyTally();
  tally.status = 'interrupted';
  for (const [key, entry] of state) {
    if (entry === 'open') countFinal(tally, providerOf.get(key), 'uncertain', 'unanswered-earlier');
    else countFinal(tally, entry.p, entry.o, entry.r);
  }
  // What a crashed run cannot say (skipped rows, timings) stays empty.
  return buildRecord({
    campaign: run?.campaign ?? path,
    shard: run?.shard,
    tally,
    lists: new RecordLists(),
    suspects: [],
    resources: { seconds: 0, cpuSeconds: 0, peakRssMB: 0 },
    startedAt: new Date(run?.at ?? 0),
  });
}

/** Shard reports summed into one campaign report. */
export function mergeRecords(records: CampaignRecord[]): CampaignRecord {
  if (records.length === 1) return records[0];
  const sum = (pick: (record: CampaignRecord) => ProviderCounts): ProviderCounts => {
    const total = emptyCounts();
    for (const record of records) for (const key of Object.keys(total) as Array<keyof ProviderCounts>) total[key] += pick(record)[key];
    return total;
  };
  const addUp = (pick: (record: CampaignRecord) => Record<string, number>): Record<string, number> => {
    const total: Record<string, number> = {};
    for (const record of records) for (const [reason, n] of Object.entries(pick(record))) total[reason] = (total[reason] ?? 0) + n;
    return total;
  };
  const counts = sum((record) => record.counts);
  const errors = records.flatMap((record) => record.errors);
  const started = Math.min(...records.map((record) => Date.parse(record.startedAt)));
  const finished = Math.max(...records.map((record) => Date.parse(record.finishedAt)));
  const seconds = Math.max(0, (finished - started) / 1000);
  const status = records.some((record) => record.status === 'stopped') ? 'stopped' : records.some((record) => record.status === 'interrupted') ? 'interrupted' : 'done';
  const { shard: _shard, ...first } = records[0];
  return {
    ...first,
    status,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationSeconds: seconds,
    sendsPerSecond: seconds > 0 ? Math.round(counts.targeted / seconds) : counts.targeted,
    devices: counts.targeted,
    successes: counts.accepted,
    invalidTokens: counts.invalid,
    counts,
    providers: Object.fromEntries(providerNames.map((name) => [name, sum((record) => record.providers[name])])) as CampaignRecord['providers'],
    invalidByReason: addUp((record) => record.invalidByReason),
    rejectedByReason: addUp((record) => record.rejectedByReason),
    failedByReason: addUp((record) => record.failedByReason),
    uncertainByReason: addUp((record) => record.uncertainByReason ?? {}),
    skippedByReason: addUp((record) => record.skippedByReason),
    retries: records.reduce((total, record) => total + record.retries, 0),
    suspect: records.flatMap((record) => record.suspect),
    ...(records.find((record) => record.fatal) ? { fatal: records.find((record) => record.fatal)!.fatal } : {}),
    ...(records.some((record) => record.halted) ? { halted: records.flatMap((record) => record.halted ?? []) } : {}),
    errors: errors.slice(0, 1000),
    errorsNotListed: records.reduce((total, record) => total + record.errorsNotListed, 0) + Math.max(0, errors.length - 1000),
    uncertain: records.flatMap((record) => record.uncertain).slice(0, 1000),
    uncertainNotListed: Math.max(0, counts.uncertain - 1000),
    files: undefined,
    resources: {
      seconds,
      cpuSeconds: records.reduce((total, record) => total + record.resources.cpuSeconds, 0),
      peakRssMB: Math.max(...records.map((record) => record.resources.peakRssMB)),
    },
  };
}
