import { counted } from '../domain/count-words.js';
import { oneLine } from '../domain/quote-value.js';
import { providerNames } from '../domain/recipient.js';
import { countRecipients, type CampaignPlan } from '../campaign/plan-campaign.js';

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
  const target = plan.shape === 'users' ? `${counted(plan.users, 'user')} (resolved to devices by the device registry)` : `${counted(total, 'device')} (${byProvider})`;
  if (options.quiet) {
    return `dry run: ${target}; ${counted(skippedTotal, 'row')} skipped${skippedTotal ? ` (${skippedBy})` : ''}; nothing sent\n`;
  }

  lines.push('pushcast dry run: nothing was sent', '');
  lines.push(`  audience   ${plan.audience} (${counted(plan.rows, 'row')}${plan.format ? `; ${describeFormat(plan.format)}` : ''})`);
  lines.push(`  message    ${options.messagePath}`);
  lines.push(`  would send ${target}`);
  lines.push(`  skipped    ${skippedTotal ? `${counted(skippedTotal, 'row')}: ${skippedBy}` : '0'}`);
  for (const note of plan.notes) lines.push(`  note       ${note}`);
  if (plan.errors.length > 0) {
    // A channel's rows are registry devices, not lines of a file.
    const where = plan.lineIs === 'registry-device-id' ? 'device' : 'line';
    lines.push('', `  ${where}  reason                detail`);
    for (const error of plan.errors.slice(0, listedInTerminal)) {
      const where = error.provider ? `[${error.provider}] ` : '';
      lines.push(`  ${String(error.line).padStart(where.length)}  ${error.reason.padEnd(20)}  ${where}${error.detail}`);
    }
    const more = plan.errors.length - listedInTerminal + plan.errorsNotListed;
    const listedByJson = plan.errorsNotListed === 0 ? 'them all' : `the first ${plan.errors.length}`;
    if (more > 0) lines.push(`  … and ${more} more (--json lists ${listedByJson})`);
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
