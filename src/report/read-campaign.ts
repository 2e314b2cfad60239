import { providerNames } from '../domain/recipient.js';
import type { FinalEvent } from '../domain/outcome.js';
import { addVariantRecords, VariantCounter } from '../domain/ab-record.js';
import { addCounts, countFinal, emptyCounts, emptyTally, type ProviderCounts } from '../domain/tally.js';
import { carriedOver, endRecord, priorVariant, readJournal } from '../journal/read-journal.js';
import { buildRecord, listedLimit, RecordLists, type CampaignRecord } from './campaign-record.js';
import { mergeTimelines } from './timeline.js';
import { journalHistory, mergeHistories } from './campaign-history.js';

/**
 * A campaign's report from its journal: the last run's own record when it ended; otherwise (the
 * process died) one rebuilt recipient by recipient as a resumed run will find them (`carriedOver`):
 * settled answers as they were, the ones in flight as uncertain, the ones waiting to be sent
 * again as not sent yet. Its duration runs from the start of the last run to its last write.
 */
export async function recordFromJournal(path: string): Promise<CampaignRecord> {
  // A run that ended wrote its report last: read from the file's end, whatever its size.
  const ended = await endRecord(path);
  if (ended) return ended as CampaignRecord;
  const { prior, lastRun, runs, message } = await readJournal(path);
  if (lastRun?.record) return lastRun.record as CampaignRecord;
  const tally = emptyTally();
  tally.status = 'interrupted';
  const lists = new RecordLists();
  const plan = lastRun?.run.ab;
  const byVariant = plan && new VariantCounter(plan);
  for (const state of prior.values()) {
    const line = state.state === 'final' ? state.line.line : state.line;
    const provider = state.state === 'final' ? state.line.p : state.provider;
    const event: FinalEvent = {
      line,
      ...(carriedOver(state, false) ?? { kind: 'skipped', provider, reason: 'not-sent', detail: 'not delivered yet: the next run sends it', attempts: 0 }),
    };
    countFinal(tally, event.provider, event.kind, event.reason);
    lists.onFinal(event);
    byVariant?.count(priorVariant(state), event.provider, event.kind);
  }
  tally.sends = lastRun?.sends ?? 0;
  tally.retries = lastRun?.retries ?? 0;
  const startedAt = lastRun?.startedAt ?? 0;
  // What a crashed run cannot say (its skipped rows, its CPU and memory) stays empty.
  return buildRecord({
    campaign: lastRun?.run.campaign ?? path,
    shard: lastRun?.run.shard,
    tally,
    lists,
    suspects: [],
    resources: { seconds: lastRun ? (lastRun.lastWriteAt - startedAt) / 1000 : 0, cpuSeconds: 0, peakRssMB: 0 },
    startedAt: new Date(startedAt),
    message,
    files: { journal: path },
    history: journalHistory(runs),
    fcm: lastRun?.run.fcmLabel && tally.providers.fcm.targeted > 0 ? { analyticsLabel: lastRun.run.fcmLabel } : undefined,
    // The holdout's rows were skipped, and a died run's skipped rows are not in its journal: not known.
    ab: byVariant?.record(undefined),
  });
}

/** Shard reports summed into one campaign report. */
export function mergeRecords(records: CampaignRecord[]): CampaignRecord {
  if (records.length === 1) return records[0];
  const sum = (pick: (record: CampaignRecord) => ProviderCounts): ProviderCounts => {
    const total = emptyCounts();
    for (const record of records) addCounts(total, pick(record));
    return total;
  };
  const addUp = (pick: (record: CampaignRecord) => Record<string, number>): Record<string, number> => {
    const total: Record<string, number> = {};
    for (const record of records) for (const [reason, n] of Object.entries(pick(record))) total[reason] = (total[reason] ?? 0) + n;
    return total;
  };
  const counts = sum((record) => record.counts);
  const sends = records.reduce((total, record) => total + (record.sends ?? 0), 0);
  const errors = records.flatMap((record) => record.errors);
  const journals = records.flatMap((record) => (record.files?.journal ? [record.files.journal] : []));
  const started = Math.min(...records.map((record) => Date.parse(record.startedAt)));
  const finished = Math.max(...records.map((record) => Date.parse(record.finishedAt)));
  const seconds = Math.max(0, (finished - started) / 1000);
  const status = records.some((record) => record.status === 'stopped')
    ? 'stopped'
    : records.some((record) => record.status === 'interrupted')
      ? 'interrupted'
      : records.some((record) => record.status === 'scheduled')
        ? 'scheduled'
        : 'done';
  const schedules = records.flatMap((record) => (record.schedule ? [record.schedule] : []));
  const nextDue = schedules.flatMap((schedule) => (schedule.nextDueAt ? [schedule.nextDueAt] : [])).sort()[0];
  const { shard: _shard, ...first } = records[0];
  return {
    ...first,
    status,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationSeconds: seconds,
    sends,
    sendsPerSecond: seconds > 0 ? Math.round(sends / seconds) : sends,
    devices: counts.targeted,
    successes: counts.accepted,
    invalidTokens: counts.invalid,
    invalidHeldBack: records.reduce((total, record) => total + (record.invalidHeldBack ?? 0), 0),
    unroutedSkipped: records.reduce((total, record) => total + (record.unroutedSkipped ?? 0), 0),
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
    ...(records.find((record) => record.fcm) ? { fcm: records.find((record) => record.fcm)!.fcm } : {}),
    ...(records.some((record) => record.ab) ? { ab: addVariantRecords(records.flatMap((record) => (record.ab ? [record.ab] : []))) } : {}),
    ...(records.some((record) => record.halted) ? { halted: records.flatMap((record) => record.halted ?? []) } : {}),
    errors: errors.slice(0, listedLimit),
    errorsNotListed: records.reduce((total, record) => total + record.errorsNotListed, 0) + Math.max(0, errors.length - listedLimit),
    uncertain: records.flatMap((record) => record.uncertain).slice(0, listedLimit),
    uncertainNotListed: Math.max(0, counts.uncertain - listedLimit),
    // The shards' own lists are theirs; that they kept journals is the campaign's (a re-run resumes).
    files: journals.length > 0 ? { journal: journals.join(', ') } : undefined,
    schedule:
      schedules.length > 0
        ? {
            due: schedules.reduce((sum, schedule) => sum + schedule.due, 0),
            deferred: schedules.reduce((sum, schedule) => sum + schedule.deferred, 0),
            missedWindow: schedules.reduce((sum, schedule) => sum + schedule.missedWindow, 0),
            noTimezone: schedules.reduce((sum, schedule) => sum + schedule.noTimezone, 0),
            ...(nextDue ? { nextDueAt: nextDue } : {}),
          }
        : undefined,
    timeline: mergeTimelines(records.map((record) => ({ startedAt: Date.parse(record.startedAt), timeline: record.timeline }))),
    resources: {
      seconds,
      cpuSeconds: records.reduce((total, record) => total + record.resources.cpuSeconds, 0),
      peakRssMB: Math.max(...records.map((record) => record.resources.peakRssMB)),
    },
    ...mergeHistories(records),
  };
}
