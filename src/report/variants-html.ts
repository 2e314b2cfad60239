import type { CampaignRecord } from './campaign-record.js';
import { text } from './html-text.js';

const kinds = ['accepted', 'invalid', 'rejected', 'failed', 'uncertain'] as const;

/** An A/B campaign's section of the HTML page: each variant's share and its devices' outcomes, and the holdout, sent nothing. */
export function variantsSection(record: CampaignRecord): string {
  const ab = record.ab;
  if (!ab) return '';
  const rows = ab.variants.map(
    (variant) =>
      `<tr data-variant="${text(variant.name)}"><th>${text(variant.name)}</th><td class="text">${text(variant.message)}</td><td>${variant.share}%</td><td data-kind="targeted">${variant.counts.targeted}</td>${kinds
        .map((kind) => `<td data-kind="${kind}">${variant.counts[kind]}</td>`)
        .join('')}</tr>`,
  );
  const holdout =
    ab.holdout.share > 0
      ? `<tr data-variant="holdout"><th>holdout</th><td class="text">sent nothing, to compare with</td><td>${ab.holdout.share}%</td><td data-kind="held">${ab.holdout.recipients ?? 'not known'}</td>${kinds.map(() => '<td></td>').join('')}</tr>`
      : '';
  return `<section id="variants">
<h2>Variants</h2>
<div class="table-wrap"><table>
<thead><tr><th>variant</th><th class="text">message</th><th>share</th><th>targeted</th>${kinds.map((kind) => `<th>${kind}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
${holdout}
</tbody>
</table></div>
<p class="muted">Each recipient was drawn by a stable hash of the campaign and the recipient (a user's, for user IDs); counts are of devices. The holdout's row counts the recipients held back.</p>
</section>`;
}
