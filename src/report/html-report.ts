import { providerNames } from '../domain/recipient.js';
import type { ProviderCounts } from '../domain/tally.js';
import { lineNoun, type CampaignRecord } from './campaign-record.js';

/**
 * The campaign record as one self-contained HTML file a marketer can open or attach: outcomes per
 * provider as bars, reasons, sends per second with the retries and pauses marked, and the rows
 * that were not sent with their lines. No network, no script: inline CSS and SVG only, and a
 * Content-Security-Policy that forbids anything else. The record itself is embedded as JSON
 * (`#pushcast-record`), so the page and `--json` can never disagree.
 */
export function htmlReport(record: CampaignRecord): string {
  const check = record.command === 'check';
  const sections = [header(record), outcomes(record, check), reasons(record), timelineChart(record), rows(record), problems(record)];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="pushcast ${text(record.pushcast)}">
<title>pushcast ${check ? 'check' : 'campaign'} ${text(record.campaign)}</title>
<style>${style}</style>
</head>
<body>
${sections.filter(Boolean).join('\n')}
<script type="application/json" id="pushcast-record">${embeddedJson(record)}</script>
</body>
</html>
`;
}

const kinds = ['accepted', 'invalid', 'rejected', 'failed', 'uncertain', 'skipped'] as const;
const colours: Record<(typeof kinds)[number], string> = {
  accepted: '#2e7d32',
  invalid: '#ef6c00',
  rejected: '#6a1b9a',
  failed: '#c62828',
  uncertain: '#546e7a',
  skipped: '#bdbdbd',
};
const meaning: Record<(typeof kinds)[number], string> = {
  accepted: 'the provider took the message (not a delivery receipt)',
  invalid: 'the provider says the token is dead: prune it',
  rejected: 'the provider refused the message: fix it',
  failed: 'still failing after every retry: send again later',
  uncertain: 'sent with no answer: maybe delivered, not resent',
  skipped: 'not sent: a bad row, a duplicate, a provider not configured',
};

const style = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212121;max-width:960px;margin:2em auto;padding:0 1em}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.8em 0 .6em;border-bottom:1px solid #e0e0e0;padding-bottom:.2em}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.status{display:inline-block;padding:.1em .6em;border-radius:1em;color:#fff;background:#2e7d32;font-weight:600}
.status.stopped{background:#c62828}.status.interrupted{background:#ef6c00}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1.2em;margin:1em 0}dl.facts dt{color:#616161}dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%}th,td{padding:.3em .5em;text-align:right;border-bottom:1px solid #eee;vertical-align:middle}
th:first-child,.text{text-align:left}td.bar{width:210px}table{font-size:.93em}tr.total th,tr.total td{font-weight:700;border-top:2px solid #bdbdbd}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.2em;margin:.6em 0;font-size:.9em;color:#424242}.legend span::before{content:"";display:inline-block;width:.8em;height:.8em;margin-right:.35em;background:var(--c);vertical-align:-.05em}
.reason{display:grid;grid-template-columns:14em 1fr 5em;gap:.6em;align-items:center;margin:.2em 0}.reason .fill{height:.9em;background:var(--c)}.reason .n{text-align:right}
.note{background:#fff8e1;border-left:4px solid #ef6c00;padding:.5em .8em;margin:.6em 0}.note.bad{background:#ffebee;border-color:#c62828}
svg text{font:11px system-ui,sans-serif;fill:#616161}
.muted{color:#757575}
`;

function header(record: CampaignRecord): string {
  const check = record.command === 'check';
  const facts: Array<[string, string]> = [
    ['audience', record.audience ?? '(none)'],
    ['message', record.message ? `${record.message.file}${record.message.sha256 ? ` (sha256 ${record.message.sha256.slice(0, 12)}…)` : ''}` : '(none)'],
    ['started', record.startedAt],
    ['finished', record.finishedAt],
    ['duration', `${record.durationSeconds.toFixed(1)} s`],
    ['requests', `${record.sends ?? 0} (${record.sendsPerSecond} per second, ${record.retries} of them retries)`],
  ];
  if (record.shard) facts.unshift(['shard', record.shard]);
  return `<header>
<h1>${check ? 'Token check' : 'Campaign'} <code>${text(record.campaign)}</code></h1>
<span class="status ${text(record.status)}" id="status">${text(record.status)}</span>
<dl class="facts">${facts.map(([term, value]) => `<dt>${text(term)}</dt><dd>${text(value)}</dd>`).join('')}</dl>
<p class="muted">${check ? 'FCM checked these tokens with validate_only: nothing was delivered, and accepted means valid.' : 'Push providers give no delivery receipts: accepted means the provider took the message, not that a person saw it.'}</p>
</header>`;
}

function outcomes(record: CampaignRecord, check: boolean): string {
  const rowsOf: Array<[string, string, ProviderCounts]> = providerNames
    .filter((name) => record.providers[name].targeted > 0 || record.providers[name].skipped > 0)
    .map((name) => [name, name, record.providers[name]]);
  const unrouted = record.unroutedSkipped ?? 0;
  if (unrouted > 0) rowsOf.push(['(unrouted)', 'unrouted', { targeted: 0, accepted: 0, invalid: 0, rejected: 0, failed: 0, uncertain: 0, skipped: unrouted }]);
  const widest = Math.max(1, ...rowsOf.map(([, , counts]) => counts.targeted + counts.skipped), record.counts.targeted + record.counts.skipped);
  const row = (label: string, key: string, counts: ProviderCounts, total = false) =>
    `<tr data-provider="${text(key)}"${total ? ' class="total"' : ''}><th>${text(label)}</th><td class="bar">${stackedBar(counts, widest)}</td><td data-kind="targeted">${counts.targeted}</td>${kinds
      .map((kind) => `<td data-kind="${kind}">${counts[kind]}</td>`)
      .join('')}</tr>`;
  const label = (kind: (typeof kinds)[number]) => (check && kind === 'accepted' ? 'valid' : kind);
  return `<section id="outcomes">
<h2>Outcomes per provider</h2>
<table>
<thead><tr><th>provider</th><th></th><th>targeted</th>${kinds.map((kind) => `<th>${label(kind)}</th>`).join('')}</tr></thead>
<tbody>
${rowsOf.map(([name, key, counts]) => row(name, key, counts)).join('\n')}
${row('total', 'total', record.counts, true)}
</tbody>
</table>
<div class="legend">${kinds.map((kind) => `<span style="--c:${colours[kind]}" title="${text(meaning[kind])}">${label(kind)}: ${text(meaning[kind])}</span>`).join('')}</div>
</section>`;
}

/** One horizontal bar, each outcome a segment as long as its count, scaled to the widest row. */
function stackedBar(counts: ProviderCounts, widest: number): string {
  let x = 0;
  const segments = kinds
    .filter((kind) => counts[kind] > 0)
    .map((kind) => {
      const width = (counts[kind] / widest) * 200;
      const segment = `<rect x="${x.toFixed(2)}" y="2" width="${width.toFixed(2)}" height="14" fill="${colours[kind]}"><title>${kind} ${counts[kind]}</title></rect>`;
      x += width;
      return segment;
    });
  return `<svg width="200" height="18" viewBox="0 0 200 18" role="img" aria-label="${kinds.map((kind) => `${kind} ${counts[kind]}`).join(', ')}">${segments.join('')}</svg>`;
}

function reasons(record: CampaignRecord): string {
  const heldBack = record.invalidHeldBack ?? 0;
  const groups: Array<[string, string, Record<string, number>, (typeof kinds)[number], string?]> = [
    [
      'invalid',
      'Invalid tokens by reason',
      record.invalidByReason,
      'invalid',
      heldBack > 0 ? `${heldBack} of ${record.counts.invalid} held back as suspect (a wrong credential is likelier), ${record.counts.invalid - heldBack} to prune.` : undefined,
    ],
    ['rejected', 'Rejected messages by reason', record.rejectedByReason, 'rejected'],
    ['failed', 'Failed after retries, by reason', record.failedByReason, 'failed'],
    ['uncertain', 'Uncertain, by reason', record.uncertainByReason ?? {}, 'uncertain'],
    ['skipped', 'Skipped rows by reason', record.skippedByReason, 'skipped'],
  ];
  const parts = groups
    .filter(([, , byReason]) => Object.values(byReason).some((n) => n > 0))
    .map(([id, title, byReason, kind, note]) => {
      const entries = Object.entries(byReason)
        .filter(([, n]) => n > 0)
        .sort(([, a], [, b]) => b - a);
      const most = Math.max(...entries.map(([, n]) => n));
      return `<div id="reasons-${id}"><h3>${text(title)}</h3>${note ? `<p class="note">${text(note)}</p>` : ''}${entries
        .map(
          ([reason, n]) =>
            `<div class="reason" data-reason="${text(reason)}"><span>${text(reason)}</span><span><span class="fill" style="--c:${colours[kind]};display:block;width:${((n / most) * 100).toFixed(1)}%"></span></span><span class="n">${n}</span></div>`,
        )
        .join('')}</div>`;
    });
  return parts.length > 0 ? `<section id="reasons">\n<h2>Reasons</h2>\n${parts.join('\n')}\n</section>` : '';
}

function timelineChart(record: CampaignRecord): string {
  const timeline = record.timeline;
  if (!timeline || timeline.sends.length === 0) return '';
  const { bucketSeconds, sends, retries, pauses } = timeline;
  const width = 880;
  const height = 220;
  const left = 48;
  const bottom = 24;
  const plotWidth = width - left - 8;
  const plotHeight = height - bottom - 8;
  const perSecond = (n: number) => n / bucketSeconds;
  const peak = Math.max(1, ...sends.map(perSecond));
  const span = sends.length * bucketSeconds;
  const xOf = (seconds: number) => left + (seconds / span) * plotWidth;
  const yOf = (rate: number) => 8 + plotHeight - (rate / peak) * plotHeight;
  const barWidth = plotWidth / sends.length;
  const shade = pauses
    .map(
      (pause) =>
        `<rect class="pause" data-provider="${pause.provider}" x="${xOf(pause.atSeconds).toFixed(1)}" y="8" width="${Math.max(1, xOf(pause.atSeconds + pause.seconds) - xOf(pause.atSeconds)).toFixed(1)}" height="${plotHeight}" fill="#ffe0b2" opacity="0.7"><title>${text(`${pause.provider} paused ${pause.seconds} s at ${pause.atSeconds} s (${pause.reason})`)}</title></rect>`,
    )
    .join('');
  const bars = sends
    .map((n, i) => {
      const x = left + i * barWidth;
      const sent = `<rect class="sends" x="${x.toFixed(1)}" y="${yOf(perSecond(n)).toFixed(1)}" width="${Math.max(0.5, barWidth - 0.5).toFixed(1)}" height="${(8 + plotHeight - yOf(perSecond(n))).toFixed(1)}" fill="#1565c0"><title>${(i * bucketSeconds).toFixed(0)} s: ${Math.round(perSecond(n))} sends/s</title></rect>`;
      const retried = retries[i]
        ? `<rect class="retries" x="${x.toFixed(1)}" y="${yOf(perSecond(retries[i])).toFixed(1)}" width="${Math.max(0.5, barWidth - 0.5).toFixed(1)}" height="${(8 + plotHeight - yOf(perSecond(retries[i]))).toFixed(1)}" fill="#c62828"><title>${(i * bucketSeconds).toFixed(0)} s: ${retries[i]} retries</title></rect>`
        : '';
      return sent + retried;
    })
    .join('');
  const axes = `<line x1="${left}" y1="${8 + plotHeight}" x2="${width - 8}" y2="${8 + plotHeight}" stroke="#9e9e9e"/><text x="${left - 6}" y="14" text-anchor="end">${Math.round(peak)}/s</text><text x="${left - 6}" y="${8 + plotHeight}" text-anchor="end">0</text><text x="${left}" y="${height - 6}">0 s</text><text x="${width - 8}" y="${height - 6}" text-anchor="end">${span.toFixed(0)} s</text>`;
  return `<section id="timeline">
<h2>Sends per second</h2>
<svg width="100%" viewBox="0 0 ${width} ${height}" role="img" aria-label="sends per second over the campaign">${shade}${bars}${axes}</svg>
<div class="legend"><span style="--c:#1565c0">requests answered per second</span><span style="--c:#c62828">retries decided</span><span style="--c:#ffe0b2">a provider paused (quota or connection)</span></div>
${
  pauses.length > 0
    ? `<p class="muted">${pauses.length} pause${pauses.length === 1 ? '' : 's'}${timeline.pausesNotListed ? ` (and ${timeline.pausesNotListed} more)` : ''}: ${text(
        pauses
          .slice(0, 5)
          .map((pause) => `${pause.provider} ${pause.seconds} s at ${pause.atSeconds} s (${pause.reason})`)
          .join('; '),
      )}${pauses.length > 5 ? '; …' : ''}</p>`
    : ''
}
</section>`;
}

function rows(record: CampaignRecord): string {
  if (record.errors.length === 0) return '';
  const where = lineNoun(record.lineIs);
  const more = record.errorsNotListed > 0 ? `<p class="muted">and ${record.errorsNotListed} more not listed (the record keeps the first ${record.errors.length})</p>` : '';
  return `<section id="rows">
<h2>Skipped, rejected and failed rows</h2>
<table>
<thead><tr>${[where, 'provider', 'outcome', 'reason', 'detail'].map((name) => `<th class="text">${name}</th>`).join('')}</tr></thead>
<tbody>
${record.errors
  .map(
    (entry) =>
      `<tr data-kind="${text(entry.kind)}"><td class="text" data-line>${entry.line}</td><td class="text">${text(entry.provider ?? '')}</td><td class="text">${text(entry.kind)}</td><td class="text">${text(entry.reason ?? '')}</td><td class="text">${text(entry.detail ?? '')}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
${more}
</section>`;
}

function problems(record: CampaignRecord): string {
  const notes: string[] = [];
  if (record.fatal)
    notes.push(`<p class="note bad">Stopped${record.fatal.provider ? ` by ${text(record.fatal.provider)}` : ''} (${text(record.fatal.reason)}): ${text(record.fatal.fix)}</p>`);
  for (const halt of record.halted ?? []) notes.push(`<p class="note bad">${text(halt.provider)} to ${text(halt.scope)} stopped (${text(halt.reason)}): ${text(halt.fix)}</p>`);
  for (const suspect of record.suspect) notes.push(`<p class="note">${text(suspect.note)}</p>`);
  return notes.length > 0 ? `<section id="problems">\n<h2>What needs attention</h2>\n${notes.join('\n')}\n</section>` : '';
}

/** Text for HTML: every character that could open markup is written as an entity. */
function text(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** JSON inside a script element: `<` escaped so no value can close the element. */
function embeddedJson(record: CampaignRecord): string {
  return JSON.stringify(record)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
