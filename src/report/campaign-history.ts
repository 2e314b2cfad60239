import type { CampaignStatus } from '../domain/tally.js';
import type { MessageIdentity } from '../journal/journal.js';
import type { JournalRun } from '../journal/read-journal.js';
import type { TimelineRecord } from './timeline.js';

/** One run of a campaign, as its history keeps it: the record lists every run, this one last. */
export interface RunSummary {
  startedAt: string;
  /** When it ended, or (a run that died) when it last wrote to its journal. */
  finishedAt: string;
  seconds: number;
  /** Requests it made, retries included, and how many of them were retries. */
  sends: number;
  retries: number;
  /** Times a provider waited out a quota or its connection. */
  pauses: number;
  /**
   * How it ended. `died`: killed (kill -9, a crash, a reboot) before it could say; `ended`: it
   * ended, and the pushcast that ran it kept no summary.
   */
  status: CampaignStatus | 'died' | 'ended';
  /** Its exit code; none for a run that died. */
  exitCode?: number;
  /** The message it sent (journals before runs named one have none). */
  message?: MessageIdentity;
  /** It sent another message than the runs before it (--change-message). */
  changedMessage?: true;
  shard?: string;
  /** Its sends over time, when it sent anything: the campaign's chart is these, run after run. */
  timeline?: TimelineRecord;
}

/** How a run ended, in words: the text report and the page say it the same. */
export const runEndingWords: Record<RunSummary['status'], string> = {
  done: 'done',
  scheduled: 'scheduled (the rest due later)',
  stopped: 'stopped',
  interrupted: 'interrupted',
  died: 'died (killed before it could report)',
  ended: 'ended (no summary kept)',
};

/** The campaign as a whole, over every run so far. */
export interface CampaignOverall {
  runs: number;
  startedAt: string;
  finishedAt: string;
  /** Time spent sending: the runs' own durations (where shards ran at once, that time counts once). */
  seconds: number;
  sends: number;
  retries: number;
  /** `sends` per second of `seconds`. */
  sendsPerSecond: number;
}

/** A message the campaign sent, when it sent more than one (--change-message): from which run, and its requests. */
export interface CampaignMessage extends MessageIdentity {
  /** The first run that sent it, counted from 1. */
  fromRun: number;
  /** Requests made with it, retries included: 0 when nobody was sent it. */
  sends: number;
}

/**
 * The message the campaign's recipients got: that of the latest run that sent anything (a run
 * after the last recipient was reached sends nothing, whatever message it names), or, if none
 * did, the one given now; and every message, when there was more than one.
 */
export function campaignMessages(
  runs: RunSummary[],
  now: { file: string; sha256?: string } | undefined,
): { message?: { file: string; sha256?: string }; messages?: CampaignMessage[] } {
  const sent = runs.filter((run) => run.message && run.sends > 0).at(-1)?.message ?? now;
  const messages: CampaignMessage[] = [];
  runs.forEach((run, index) => {
    if (!run.message) return;
    const known = messages.find((message) => message.sha256 === run.message!.sha256);
    if (known) known.sends += run.sends;
    else messages.push({ ...run.message, fromRun: index + 1, sends: run.sends });
  });
  return { ...(sent ? { message: { file: sent.file, sha256: sent.sha256 } } : {}), ...(messages.length > 1 ? { messages } : {}) };
}

/** Runs a record lists: the first, and the latest up to this many in all; the overall counts cover every one. */
export const listedRunsLimit = 100;

/** The history of the runs a journal holds, as the record lists them. */
export function journalHistory(runs: JournalRun[]): RunSummary[] {
  return runs.map((run) => {
    const finishedAt = run.end ? Date.parse(run.end.finishedAt) : run.lastWriteAt;
    const timeline = run.end?.timeline as TimelineRecord | undefined;
    return {
      startedAt: new Date(run.startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      seconds: round(Math.max(0, finishedAt - run.startedAt) / 1000),
      sends: run.sends,
      retries: run.retries,
      pauses: run.end?.pauses ?? 0,
      status: run.end ? (run.end.status as CampaignStatus) : run.ended ? 'ended' : 'died',
      ...(run.end ? { exitCode: run.end.exitCode } : {}),
      ...(run.run.message ? { message: run.run.message } : {}),
      ...(run.run.changedMessage ? { changedMessage: true as const } : {}),
      ...(run.run.shard ? { shard: run.run.shard } : {}),
      ...(timeline && run.sends > 0 ? { timeline } : {}),
    };
  });
}

/** What a record keeps of a history: the first run and the latest, `listedRunsLimit` in all. */
export function listedRuns(runs: RunSummary[]): { runs: RunSummary[]; runsNotListed: number } {
  if (runs.length <= listedRunsLimit) return { runs, runsNotListed: 0 };
  return { runs: [runs[0], ...runs.slice(runs.length - listedRunsLimit + 1)], runsNotListed: runs.length - listedRunsLimit };
}

/** The campaign as a whole, from every one of its runs. */
export function campaignOverall(runs: RunSummary[]): CampaignOverall {
  const sends = runs.reduce((sum, run) => sum + run.sends, 0);
  const seconds = round(coveredSeconds(runs));
  return {
    runs: runs.length,
    startedAt: runs.map((run) => run.startedAt).sort()[0] ?? new Date(0).toISOString(),
    finishedAt:
      runs
        .map((run) => run.finishedAt)
        .sort()
        .at(-1) ?? new Date(0).toISOString(),
    seconds,
    sends,
    retries: runs.reduce((sum, run) => sum + run.retries, 0),
    sendsPerSecond: seconds > 0 ? Math.round(sends / seconds) : sends,
  };
}

/** Shards' histories as one: every run, in the order they started; the whole from all of them. */
export function mergeHistories(parts: Array<{ runs?: RunSummary[]; runsNotListed?: number; overall?: CampaignOverall }>): {
  runs: RunSummary[];
  runsNotListed: number;
  overall: CampaignOverall;
} {
  const all = parts.flatMap((part) => part.runs ?? []).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const notListed = parts.reduce((sum, part) => sum + (part.runsNotListed ?? 0), 0);
  const overall = campaignOverall(all);
  if (notListed > 0) {
    // Runs a shard's record left out still count: add their sends, and keep the longest shard's time.
    overall.runs += notListed;
    overall.sends = parts.reduce((sum, part) => sum + (part.overall?.sends ?? 0), 0);
    overall.retries = parts.reduce((sum, part) => sum + (part.overall?.retries ?? 0), 0);
    overall.seconds = Math.max(overall.seconds, ...parts.map((part) => part.overall?.seconds ?? 0));
    overall.sendsPerSecond = overall.seconds > 0 ? Math.round(overall.sends / overall.seconds) : overall.sends;
  }
  const listed = listedRuns(all);
  return { runs: listed.runs, runsNotListed: listed.runsNotListed + notListed, overall };
}

/** The length of the union of the runs' intervals: shards that ran at once count that time once. */
function coveredSeconds(runs: RunSummary[]): number {
  const spans = runs.map((run) => [Date.parse(run.startedAt), Date.parse(run.finishedAt)] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [from, to] = [-Infinity, -Infinity];
  for (const [start, end] of spans) {
    if (start > to) {
      if (to > from) total += to - from;
      [from, to] = [start, end];
    } else to = Math.max(to, end);
  }
  if (to > from) total += to - from;
  return total / 1000;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
