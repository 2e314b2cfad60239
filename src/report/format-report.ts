import { providerNames } from '../domain/recipient.js';
import type { ProviderCounts } from '../domain/tally.js';
import type { CampaignRecord } from './campaign-record.js';

const columns: Array<keyof ProviderCounts> = ['targeted', 'accepted', 'invalid', 'rejected', 'failed', 'uncertain', 'skipped'];
const statusWords: Record<CampaignRecord['status'], string> = { done: 'done', stopped: 'stopped early', interrupted: 'interrupted (resumable)' };

/**
 * The token-validity report for a person. ASCII labels and numbers only, so it keeps its shape in
 * 80 columns whatever language the message was in; reasons wrap onto their own lines.
 */
export function formatReport(record: CampaignRecord): string {
  const lines: string[] = [];
  const row = (label: string, counts: ProviderCounts) => [label.padEnd(9), ...columns.map((key) => String(counts[key]).padStart(10))].join('');
  lines.push(['provider'.padEnd(9), ...columns.map((key) => key.padStart(10))].join(''));
  for (const name of providerNames) {
    const counts = record.providers[name];
    if (counts.targeted > 0 || counts.skipped > 0) lines.push(row(name, counts));
  }
  lines.push(row('total', record.counts));
  lines.push('');
  const { targeted, accepted } = record.counts;
  const acceptedShare = targeted > 0 ? ` (${percent(accepted, targeted)} of targeted)` : '';
  lines.push(`accepted ${accepted}${acceptedShare}: the providers took these; they do not report delivery.`);
  reasonLines(lines, 'invalid tokens, to prune', record.invalidByReason);
  reasonLines(lines, 'rejected messages, to fix', record.rejectedByReason);
  reasonLines(lines, 'failed after retries', record.failedByReason);
  reasonLines(lines, 'skipped rows', record.skippedByReason);
  if (record.counts.uncertain > 0) {
    const sample = record.uncertain
      .slice(0, 8)
      .map((entry) => entry.line)
      .join(', ');
    lines.push(`uncertain (maybe sent, not resent; --resend-uncertain sends them): ${record.counts.uncertain}, lines ${sample}${record.counts.uncertain > 8 ? ', …' : ''}`);
    lines.push(...reasonList(record.uncertainByReason ?? {}));
  }
  for (const suspect of record.suspect) lines.push(`suspect: ${wrap(suspect.note, 70).join('\n  ')}`);
  lines.push('');
  const where = record.shard ? ` (shard ${record.shard})` : '';
  lines.push(
    `campaign ${record.campaign}${where}: ${statusWords[record.status]} in ${record.durationSeconds.toFixed(1)} s, ${record.sendsPerSecond} sends/s, ${record.retries} retries`,
  );
  if (record.fatal)
    lines.push(`stopped${record.fatal.provider ? ` by ${record.fatal.provider}` : ''} (${record.fatal.reason}):`, ...wrap(record.fatal.fix, 76).map((line) => `  ${line}`));
  for (const halt of record.halted ?? []) lines.push(`${halt.provider} to ${halt.scope} stopped (${halt.reason}):`, ...wrap(halt.fix, 76).map((line) => `  ${line}`));
  const files = record.files ?? {};
  if (files.invalidOut) lines.push(`prune list: ${files.invalidOut}`);
  if (files.suspectOut) lines.push(`suspect tokens (not pruned): ${files.suspectOut}`);
  if (files.failedOut) lines.push(`to send again later: ${files.failedOut}`);
  return `${lines.join('\n')}\n`;
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
