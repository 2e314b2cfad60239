import { providerNames } from '../domain/recipient.js';
import { oneLine } from '../domain/quote-value.js';
import { counted } from '../domain/count-words.js';
import { emptyCounts, type ProviderCounts } from '../domain/tally.js';
import { describeUnreached, lineNoun, type CampaignRecord } from './campaign-record.js';
import { runEndingWords } from './campaign-history.js';
import { localTimeText } from '../domain/zoned-time.js';
import { pruneListWhere } from './report-files.js';
import { broadcastLine, formatBroadcast } from './format-broadcast.js';

const columns: Array<keyof ProviderCounts> = ['targeted', 'accepted', 'invalid', 'rejected', 'failed', 'uncertain', 'skipped'];
const statusWords: Record<CampaignRecord['status'], string> = {
  done: 'done',
  scheduled: 'scheduled (the rest are due later)',
  stopped: 'stopped early',
  interrupted: 'interrupted (resumable)',
};

/**
 * The token-validity report for a person. ASCII labels and numbers only, so it keeps its shape in
 * 80 columns whatever language the message was in; reasons wrap onto their own lines.
 */
export function formatReport(record: CampaignRecord): string {
  if (record.broadcast) return formatBroadcast(record, record.broadcast);
  const lines: string[] = [];
  const check = record.command === 'check';
  const row = (label: string, counts: Pick<ProviderCounts, keyof ProviderCounts>) => [label.padEnd(10), ...columns.map((key) => String(counts[key]).padStart(10))].join('');
  lines.push(['provider'.padEnd(10), ...columns.map((key) => (check && key === 'accepted' ? 'valid' : key).padStart(10))].join(''));
  for (const name of providerNames) {
    const counts = record.providers[name];
    if (counts.targeted > 0 || counts.skipped > 0) lines.push(row(name, counts));
  }
  // Rows that name no provider are in no provider's row: this one makes the column add up.
  const unrouted = record.unroutedSkipped ?? 0;
  if (unrouted > 0) lines.push(row('(unrouted)', { ...emptyCounts(), skipped: unrouted }));
  lines.push(row('total', record.counts));
  // APNs by environment and by app, when the campaign spans more than one: each is judged apart.
  for (const [label, groups] of [
    ['environment', record.apns?.byEnvironment ?? {}],
    ['app', record.apns?.byTopic ?? {}],
  ] as const) {
    const entries = Object.entries(groups).filter((entry): entry is [string, ProviderCounts] => entry[1] !== undefined);
    if (entries.length > 1) lines.push(`apns by ${label}:`, ...entries.map(([name, counts]) => `  ${name}: ${briefCounts(counts)}`));
  }
  // An A/B campaign: each variant's devices, and the holdout, who got nothing.
  if (record.ab) {
    lines.push('variants:', ...record.ab.variants.map((variant) => `  ${variant.name} (${variant.message}, ${variant.share}%): ${briefCounts(variant.counts)}`));
    const held = record.ab.holdout.recipients;
    if (record.ab.holdout.share > 0)
      lines.push(`  holdout (${record.ab.holdout.share}%): ${held === undefined ? 'sent nothing (how many: not known, the run died)' : `${held} sent nothing`}`);
  }
  lines.push('');
  const { targeted, accepted, invalid } = record.counts;
  const acceptedShare = targeted > 0 ? ` (${percent(accepted, targeted)} of ${check ? 'checked' : 'targeted'})` : '';
  lines.push(
    check
      ? `valid ${accepted}${acceptedShare}: FCM checked these (validate_only); nothing was delivered.`
      : `accepted ${accepted}${acceptedShare}: the providers took these; they do not report delivery.`,
  );
  const heldBack = record.invalidHeldBack ?? 0;
  const pruneLine = lines.length;
  reasonLines(lines, heldBack > 0 ? `invalid ${invalid} (held back as suspect ${heldBack}, to prune ${invalid - heldBack})` : 'invalid tokens, to prune', record.invalidByReason);
  if (lines.length > pruneLine) lines[pruneLine] += ` (${pruneListWhere(record)})`;
  reasonLines(lines, 'rejected messages, to fix', record.rejectedByReason);
  reasonLines(lines, 'failed after retries', record.failedByReason);
  reasonLines(lines, 'skipped rows', record.skippedByReason);
  const noun = lineNoun(record.lineIs);
  const where = (count: number) => noun + (count === 1 ? '' : 's');
  const one = (line: number) => (record.lineIs === 'token-option' ? noun : `${noun} ${line}`);
  const skippedAt = record.errors
    .filter((entry) => entry.kind === 'skipped')
    .map((entry) => entry.line)
    .sort((a, b) => a - b);
  if (record.counts.skipped > 0 && skippedAt.length > 0 && record.lineIs !== 'token-option')
    lines.push(`  at ${where(record.counts.skipped)} ${sample(skippedAt, record.counts.skipped)}; every one with its reason: --json (errors)`);
  if (record.counts.uncertain > 0) {
    const at = sample(
      record.uncertain.map((entry) => entry.line).sort((a, b) => a - b),
      record.counts.uncertain,
    );
    lines.push(`uncertain (maybe sent, not resent; --resend-uncertain sends them): ${record.counts.uncertain}, ${where(record.counts.uncertain)} ${at}`);
    lines.push(...reasonList(record.uncertainByReason ?? {}));
  }
  if (record.unreached) {
    const how = record.files?.journal ? 'run the same command again to send them' : record.files?.failedOut ? `they are in ${record.files.failedOut}` : 'this run kept no journal';
    lines.push(`${describeUnreached(record.unreached, record.lineIs)}: ${how}`);
  }
  if (record.schedule) lines.push(...scheduleLines(record));
  for (const suspect of record.suspect) lines.push(...wrap(suspect.note, 70).map((line, index) => (index === 0 ? `suspect: ${line}` : `  ${line}`)));
  // A smoke test of a few recipients: each one's outcome in full, detail included.
  const listed = [...record.errors, ...record.uncertain.map((entry) => ({ ...entry, kind: 'uncertain' }))];
  if (listed.length > 0 && listed.length <= fewRows && record.errorsNotListed === 0) {
    lines.push('');
    for (const entry of listed.sort((a, b) => a.line - b.line)) {
      lines.push(`${one(entry.line)}${entry.provider ? ` (${entry.provider})` : ''}: ${entry.kind} ${entry.reason ?? ''}${entry.detail ? `: ${entry.detail}` : ''}`);
    }
  }
  lines.push('');
  lines.push(...campaignLines(record));
  lines.push(...historyLines(record));
  const unjournaled = withoutJournal(record);
  if (unjournaled) lines.push(unjournaled);
  if (record.fatal)
    lines.push(`stopped${record.fatal.provider ? ` by ${record.fatal.provider}` : ''} (${record.fatal.reason}):`, ...wrap(record.fatal.fix, 76).map((line) => `  ${line}`));
  for (const halt of record.halted ?? []) lines.push(`${halt.provider} to ${halt.scope} stopped (${halt.reason}):`, ...wrap(halt.fix, 76).map((line) => `  ${line}`));
  const files = record.files ?? {};
  if (files.invalidOut) lines.push(`prune list: ${files.invalidOut}`);
  if (files.suspectOut) lines.push(`suspect tokens (not pruned): ${files.suspectOut}`);
  if (files.failedOut) lines.push(`to send again later: ${files.failedOut}`);
  // Each line quotes the audience, the journal a report is read back from, providers' answers: none may start another.
  return `${lines.map(oneLine).join('\n')}\n`;
}

/** A send with no journal does it all again when run again: said, with why, so nobody counts on a resume. */
function withoutJournal(record: CampaignRecord): string | undefined {
  if (record.command !== 'send' || record.files?.journal) return undefined;
  if (record.lineIs === 'token-option') {
    return `a smoke test (--token)${record.message ? ` of ${record.message.file}` : ''}: sent to the given devices only, it keeps no journal, so running it again sends again`;
  }
  if (record.campaign === 'one-off')
    return 'standard input has no campaign id of its own, so this run kept no journal: running it again sends again (give --campaign ID to keep one)';
  return 'no journal (--no-journal): running it again sends to everyone again';
}

/** What the campaign came to: in this one run, or over all its runs and then in this one. */
function campaignLines(record: CampaignRecord): string[] {
  const shard = record.shard ? ` (shard ${record.shard})` : '';
  const thisRun = `${record.durationSeconds.toFixed(1)} s, ${record.sendsPerSecond} sends/s, ${counted(record.retries, 'retry', 'retries')}`;
  const overall = record.overall;
  if (!overall || overall.runs <= 1) return [`campaign ${record.campaign}${shard}: ${statusWords[record.status]} in ${thisRun}`];
  return [
    `campaign ${record.campaign}${shard}: ${statusWords[record.status]} over ${overall.runs} runs: ${overall.seconds.toFixed(1)} s sending, ${counted(overall.sends, 'send')} (${overall.sendsPerSecond}/s), ${counted(overall.retries, 'retry', 'retries')}`,
    `  this run: ${record.durationSeconds.toFixed(1)} s, ${counted(record.sends ?? 0, 'send')}, ${counted(record.retries, 'retry', 'retries')}`,
  ];
}

/** Run by run, when there was more than one: when each started, how long it took, what it sent, how it ended, a change of message. */
function historyLines(record: CampaignRecord): string[] {
  const runs = record.runs ?? [];
  if (runs.length <= 1) return [];
  const [zone] = localTimeText(Date.parse(runs[0].startedAt)).split(' ').slice(2);
  const lines = [
    `runs (times ${zone}):`,
    `  ${'#'.padStart(2)}  ${'started'.padEnd(16)}  ${'took'.padStart(7)}  ${'sends'.padStart(7)}  ${'retries'.padStart(7)}  ${'pauses'.padStart(6)}  ended`,
  ];
  const notListed = record.runsNotListed ?? 0;
  runs.forEach((run, index) => {
    if (index === 1 && notListed > 0) lines.push(`  … ${counted(notListed, 'run')} not listed`);
    const number = index === 0 ? 1 : index + 1 + notListed;
    const started = localTimeText(Date.parse(run.startedAt)).slice(0, 16);
    const ended = `${runEndingWords[run.status]}${run.exitCode === undefined ? '' : `, exit ${run.exitCode}`}${run.shard ? ` (shard ${run.shard})` : ''}`;
    lines.push(
      `  ${String(number).padStart(2)}  ${started}  ${`${run.seconds.toFixed(1)} s`.padStart(7)}  ${String(run.sends).padStart(7)}  ${String(run.retries).padStart(7)}  ${String(run.pauses).padStart(6)}  ${ended}`,
    );
    if (run.changedMessage && run.message) lines.push(`      message changed to ${run.message.file} (sha256 ${run.message.sha256.slice(0, 12)})`);
  });
  return lines;
}

/** How far a scheduled campaign is: what is done, what is due later and when, what missed its window; per time zone with --local. */
function scheduleLines(record: CampaignRecord): string[] {
  const schedule = record.schedule!;
  const done = record.counts.targeted;
  const total = done + schedule.deferred + schedule.missedWindow + schedule.noTimezone;
  const lines = [
    `schedule: ${done} of ${total} handled (${total > 0 ? percent(done, total) : '0.0%'}); ${schedule.deferred} due later${schedule.nextDueAt ? `, the next at ${schedule.nextDueAt}` : ''}; ${schedule.missedWindow} missed their window (--late-limit); ${schedule.noTimezone} with no time zone`,
  ];
  for (const [zone, counts] of Object.entries(schedule.byTimezone ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const earlier = counts.earlier ? `${counts.earlier} by earlier runs, ` : '';
    lines.push(
      `  ${zone.padEnd(22)} ${earlier}${counts.due} due now, ${counts.deferred} later${counts.nextDueAt ? ` (next ${counts.nextDueAt})` : ''}, ${counts.missedWindow} missed`,
    );
  }
  return lines;
}

/** The one line of `--quiet`: the counts, and which shard they are of. */
export function quietLine(record: CampaignRecord): string {
  if (record.broadcast) return broadcastLine(record, record.broadcast);
  const { targeted, accepted, invalid, rejected, failed, uncertain, skipped } = record.counts;
  const shard = record.shard ? ` (shard ${record.shard})` : '';
  const valid = record.command === 'check' ? 'valid' : 'accepted';
  const schedule = record.schedule;
  const later = schedule?.nextDueAt ? `; ${schedule.deferred} due later, the next at ${schedule.nextDueAt}` : '';
  const missed = schedule?.missedWindow ? `; ${schedule.missedWindow} missed their window (--late-limit)` : '';
  const noZone = schedule?.noTimezone ? `; ${schedule.noTimezone} with no time zone` : '';
  const smoke = record.command === 'send' && record.lineIs === 'token-option' ? ' (a smoke test: running it again sends again)' : '';
  return oneLine(
    `campaign ${record.campaign}${shard} ${record.status}: ${targeted} targeted, ${accepted} ${valid}, ${invalid} invalid, ${rejected} rejected, ${failed} failed, ${uncertain} uncertain, ${skipped} skipped${later}${missed}${noZone}${smoke}`,
  );
}

/** "120 targeted, 118 accepted, 2 invalid": the counts that are not zero. */
function briefCounts(counts: ProviderCounts): string {
  return columns
    .filter((key) => key === 'targeted' || counts[key] > 0)
    .map((key) => `${counts[key]} ${key}`)
    .join(', ');
}

/** Up to this many rows with trouble are each printed in full. */
const fewRows = 5;

/** The first few of a list of line numbers, and an ellipsis when there are more. */
function sample(at: number[], total: number): string {
  return `${at.slice(0, 8).join(', ')}${total > 8 ? ', …' : ''}`;
}

function reasonLines(lines: string[], label: string, byReason: Record<string, number>): void {
  const total = Object.values(byReason).reduce((sum, n) => sum + n, 0);
  if (total === 0) return;
  lines.push(`${label}: ${total}`);
  lines.push(...reasonList(byReason));
}

function reasonList(byReason: Record<string, number>): string[] {
  const entries = Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort(([, a], [, b]) => b - a);
  return wrap(entries.map(([reason, n]) => `${reason} ${n}`).join(', '), 76).map((line) => `  ${line}`);
}

function percent(part: number, whole: number): string {
  return `${((part / whole) * 100).toFixed(1)}%`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
