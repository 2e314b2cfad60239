import { counted } from '../domain/count-words.js';
import { oneLine } from '../domain/quote-value.js';
import { providerNames } from '../domain/recipient.js';
import { countRecipients, type CampaignPlan } from '../campaign/plan-campaign.js';
import { groupRows, lineRanges } from '../report/group-rows.js';

const listedInTerminal = 20;

/** The dry-run plan for a person: counts first, then the bad rows, then one sample per provider. */
export function formatPlan(plan: CampaignPlan, options: { quiet?: boolean; messagePath: string }): string {
  const lines: string[] = [];
  const total = countRecipients(plan);
  const skippedTotal = Object.values(plan.skipped).reduce((sum, n) => sum + (n ?? 0), 0);
  const byProvider = providerNames.map((name) => `${name} ${plan.recipients[name]}`).join(', ');
  const skippedBy = Object.entries(plan.skipped)
    .sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  // Users the registry could not reach are among the skipped: the headline counts only those who would get it.
  const target = plan.shape === 'users' ? `${counted(plan.usersReached, 'user')} (${counted(total, 'device')}: ${byProvider})` : `${counted(total, 'device')} (${byProvider})`;
  const placeholders = plan.credentials.placeholders.map((placeholder) => placeholder.note);
  if (options.quiet) {
    const summary = `dry run: would send ${target}; ${plan.shape === 'users' ? skippedTotal : counted(skippedTotal, 'row')} skipped${skippedTotal ? ` (${skippedBy})` : ''}; nothing sent; ${plan.credentials.note}`;
    return `${[summary, ...placeholders].join('\n')}\n`;
  }

  lines.push('pushcast dry run: nothing was sent', '');
  lines.push(`  audience   ${plan.audience} (${counted(plan.rows, 'row')}${plan.format ? `; ${describeFormat(plan.format)}` : ''})`);
  lines.push(`  message    ${options.messagePath}`);
  lines.push(`  would send ${target}`);
  for (const variant of plan.ab?.variants ?? []) lines.push(`    variant ${variant.name} (${variant.share}%): ${variant.counts.accepted} devices`);
  if (plan.ab && plan.ab.holdout.share > 0) lines.push(`    holdout (${plan.ab.holdout.share}%): ${plan.ab.holdout.recipients} sent nothing`);
  // A user's devices are skipped one by one (stale, invalid): for a user audience they are not rows.
  const skippedNoun = plan.shape === 'users' ? String(skippedTotal) : counted(skippedTotal, 'row');
  lines.push(`  skipped    ${skippedTotal ? `${skippedNoun}: ${skippedBy}` : '0'}`);
  for (const note of plan.notes) lines.push(`  note       ${note}`);
  lines.push(`  ${plan.credentials.note}`, ...placeholders.map((note) => `    ${note}`));
  if (plan.errors.length > 0) {
    // A channel's rows are registry devices, not lines of a file. Identical problems are one row, with their lines.
    const groups = groupRows(plan.errors, (error) => `${error.reason}\u0000${error.provider ?? ''}\u0000${error.detail}`).map((group) => ({
      where: group.lines.length > 1 ? `${lineRanges(group.lines)} (${group.lines.length})` : String(group.first.line),
      ...group.first,
    }));
    const shown = groups.slice(0, listedInTerminal);
    const noun = plan.lineIs === 'registry-device-id' ? 'device' : 'line';
    const whereWidth = Math.max(noun.length, ...shown.map((group) => group.where.length));
    const reasonWidth = Math.max(6, ...shown.map((group) => group.reason.length));
    lines.push('', `  ${noun.padEnd(whereWidth)}  ${'reason'.padEnd(reasonWidth)}  detail`);
    for (const group of shown) {
      lines.push(`  ${group.where.padEnd(whereWidth)}  ${group.reason.padEnd(reasonWidth)}  ${group.provider ? `[${group.provider}] ` : ''}${group.detail}`);
    }
    const moreGroups = groups.length - shown.length;
    const listedByJson = plan.errorsNotListed === 0 ? 'them all' : `the first ${plan.errors.length}`;
    if (moreGroups > 0 || plan.errorsNotListed > 0)
      lines.push(
        `  … and ${moreGroups > 0 ? `${counted(moreGroups, 'other problem')}` : ''}${moreGroups > 0 && plan.errorsNotListed > 0 ? ', and ' : ''}${plan.errorsNotListed > 0 ? `${plan.errorsNotListed} rows not listed` : ''} (--json lists ${listedByJson})`,
      );
  }
  for (const name of providerNames) {
    const sample = plan.samples[name];
    if (sample === undefined) continue;
    lines.push('', `  sample ${name} payload:`);
    lines.push(
      ...JSON.stringify(sample, null, 2)
        .split('\n')
        .map((line) => `    ${line}`),
    );
  }
  // A detail quotes its row: a cell that holds a line break stays on the row's line.
  return `${lines.map(oneLine).join('\n')}\n`;
}

const delimiterNames = { ',': 'comma', ';': 'semicolon', '\t': 'tab' } as const;
const encodingSources = { bom: 'from its byte order mark', 'nul-bytes': 'from its NUL bytes', given: 'as --encoding said', default: '' } as const;

/** "UTF-16LE from its byte order mark, semicolon-separated". */
function describeFormat(format: NonNullable<CampaignPlan['format']>): string {
  const encoding = `${format.encoding.toUpperCase()}${encodingSources[format.encodingFrom] ? ` ${encodingSources[format.encodingFrom]}` : ''}`;
  return `${encoding}, ${delimiterNames[format.delimiter]}-separated`;
}
