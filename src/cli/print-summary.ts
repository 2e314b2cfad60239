import { providerNames } from '../audience/recipient.js';
import type { ProviderCounts, Tally } from '../engine/tally.js';
import type { ResourceUse } from '../engine/measure-resources.js';

const columns: Array<[keyof ProviderCounts, string]> = [
  ['targeted', 'targeted'],
  ['accepted', 'accepted'],
  ['invalid', 'invalid'],
  ['rejected', 'rejected'],
  ['failed', 'failed'],
  ['uncertain', 'uncertain'],
  ['skipped', 'skipped'],
];

/** The end-of-campaign summary for a person; fits 80 columns. */
export function formatSummary(tally: Tally, resources: ResourceUse, campaign: string): string {
  const lines: string[] = [];
  const header = ['provider'.padEnd(9), ...columns.map(([, label]) => label.padStart(10))].join('');
  lines.push(header);
  for (const name of providerNames) {
    const counts = tally.providers[name];
    if (counts.targeted === 0 && counts.skipped === 0) continue;
    lines.push([name.padEnd(9), ...columns.map(([key]) => String(counts[key]).padStart(10))].join(''));
  }
  lines.push(['total'.padEnd(9), ...columns.map(([key]) => String(tally.counts[key]).padStart(10))].join(''));
  lines.push('');
  lines.push('accepted = the provider took the message; providers do not report delivery.');
  const reasons = (label: string, byReason: Record<string, number | undefined>) => {
    const entries = Object.entries(byReason).filter(([, n]) => n);
    if (entries.length > 0) lines.push(`${label}: ${entries.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  };
  reasons('invalid tokens (prune them)', tally.invalidByReason);
  reasons('rejected messages', tally.rejectedByReason);
  reasons('failed after retries', tally.failedByReason);
  reasons('skipped', tally.skippedByReason);
  const sent = tally.counts.targeted;
  const rate = resources.seconds > 0 ? Math.round(sent / resources.seconds) : sent;
  lines.push(`campaign ${campaign}: ${statusWords[tally.status]} in ${resources.seconds.toFixed(1)} s, ${rate} sends/s, ${tally.retries} retries`);
  if (tally.fatal) lines.push(`stopped by ${tally.fatal.provider}: ${tally.fatal.reason}: ${tally.fatal.fix}`);
  return `${lines.join('\n')}\n`;
}

const statusWords: Record<Tally['status'], string> = { done: 'done', stopped: 'stopped early', interrupted: 'interrupted' };

/** The `--json` summary: one object, documented in the README. */
export function summaryJson(tally: Tally, resources: ResourceUse, campaign: string): Record<string, unknown> {
  return {
    campaign,
    status: tally.status,
    counts: tally.counts,
    providers: tally.providers,
    invalidByReason: tally.invalidByReason,
    rejectedByReason: tally.rejectedByReason,
    failedByReason: tally.failedByReason,
    skippedByReason: tally.skippedByReason,
    retries: tally.retries,
    ...(tally.fatal ? { fatal: tally.fatal } : {}),
    resources,
  };
}
