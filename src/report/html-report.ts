import { basename } from 'node:path';
import { counted } from '../domain/count-words.js';
import { finalKinds } from '../domain/outcome.js';
import { providerNames, type ProviderName } from '../domain/recipient.js';
import type { ProviderCounts } from '../domain/tally.js';
import { variantsSection } from './variants-html.js';
import { text } from './html-text.js';
import type { CampaignStats } from './delivery-stats.js';
import { deliveryDataSection } from './stats-html.js';
import { isDerivedCampaignId } from '../domain/campaign-id-form.js';
import { localTimeText, machineTimeZone } from '../domain/zoned-time.js';
import { lineNoun, type CampaignRecord } from './campaign-record.js';
import { runEndingWords, type CampaignOverall } from './campaign-history.js';
import { pruneListWhere } from './report-files.js';
import type { TimelineRecord } from './timeline.js';

/**
 * The campaign record as one self-contained HTML page for the marketer who receives it: the
 * campaign by name, what to do next, the share accepted, the message, outcomes per provider, the
 * files to act on, the campaign run by run with sends per second, and the rows not sent, grouped.
 * No network, no script: inline CSS and SVG only, and a Content-Security-Policy that forbids
 * anything else. The record itself is embedded as JSON (`#pushcast-record`), so the page and
 * `--json` can never disagree. Every value from a file, the environment or a provider is isolated
 * (`<bdi>`, `dir="auto"`), its direction controls shown as escapes, and wraps where it must.
 */
export function htmlReport(record: CampaignRecord, extra: { deliveryData?: CampaignStats } = {}): string {
  const check = record.command === 'check';
  const name = campaignName(record);
  const sections = [
    header(record, name),
    problems(record),
    outcomes(record, check),
    variantsSection(record),
    extra.deliveryData && deliveryDataSection(extra.deliveryData),
    message(record),
    reasons(record),
    files(record),
    runs(record),
    timelineChart(record),
    rows(record),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="pushcast ${text(record.pushcast)}">
<title>${check ? 'Token check' : 'Campaign'}: ${text(name.plain)}</title>
<style>${style}</style>
</head>
<body>
${sections.filter(Boolean).join('\n')}
<script type="application/json" id="pushcast-record">${embeddedJson(record)}</script>
</body>
</html>
`;
}

const kinds = finalKinds;
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
/** Pause bands on the chart, one colour per provider, so the legend says whose pause each is. */
const pauseColours: Record<ProviderName, string> = { fcm: '#ffcc80', apns: '#ce93d8', webpush: '#a5d6a7' };
const sendsColour = '#1565c0';
const retriesColour = '#c62828';
/** The one unit of rate on the page: requests made (retries included) per second of sending. */
const rateUnit = 'sends/s';

const style = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212121;max-width:960px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .2em;line-height:1.25}h2{font-size:1.15em;margin:1.8em 0 .6em;border-bottom:1px solid #e0e0e0;padding-bottom:.2em}h3{font-size:1em}
bdi.v{overflow-wrap:anywhere}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.kicker{margin:0;color:#616161;text-transform:uppercase;letter-spacing:.05em;font-size:.8em}.campaign-id{margin:0 0 .6em;color:#616161}
.status-line{font-size:1.05em;margin:.6em 0}
.status{display:inline-block;padding:.1em .6em;border-radius:1em;color:#fff;background:#2e7d32;font-weight:600;margin-right:.4em}
.status.stopped{background:#c62828}.status.interrupted{background:#ef6c00}.status.scheduled{background:#1565c0}
.figures{display:flex;flex-wrap:wrap;gap:1em 2.5em;margin:1em 0}.figure .big{display:block;font-size:2em;font-weight:700;line-height:1.1}.figure{color:#424242}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2em 1.2em;margin:1em 0}dl.facts dt{color:#616161}dl.facts dd{margin:0}
.table-wrap{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.93em}th,td{padding:.3em .5em;text-align:right;border-bottom:1px solid #eee;vertical-align:top}
th:first-child,.text{text-align:left}td.bar{width:22%;min-width:60px}svg.bar{display:block;width:100%;height:18px}tr.total th,tr.total td{font-weight:700;border-top:2px solid #bdbdbd}table.rows{table-layout:fixed}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.2em;margin:.6em 0;font-size:.9em;color:#424242}.legend span::before{content:"";display:inline-block;width:.8em;height:.8em;margin-right:.35em;background:var(--c);vertical-align:-.05em}
.reason{display:grid;grid-template-columns:minmax(0,14em) 1fr 5em;gap:.6em;align-items:center;margin:.2em 0}.reason .fill{height:.9em;background:var(--c)}.reason .n{text-align:right}
.note{background:#fff8e1;border-left:4px solid #ef6c00;padding:.5em .8em;margin:.6em 0}.note.bad{background:#ffebee;border-color:#c62828}
.preview{border:1px solid #e0e0e0;border-radius:.4em;padding:.5em .8em;margin:.5em 0}.preview .locale{margin:0;color:#616161;font-size:.85em}.preview .title{margin:.2em 0;font-weight:600;overflow-wrap:anywhere}.preview .body{margin:.2em 0;white-space:pre-line;overflow-wrap:anywhere}
svg.chart{display:block;width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#616161}svg text.run-label{fill:#212121;font-weight:600}
.muted{color:#757575}time{white-space:nowrap}
`;

/**
 * What the campaign is called: an id given with --campaign is its name; a derived one (a hash of
 * the audience and message, `campaign/campaign-id.ts`) is not, so the message and the audience name it.
 */
function campaignName(record: CampaignRecord): { heading: string; plain: string; id?: string } {
  if (!isDerivedCampaignId(record.campaign)) return { heading: value(record.campaign), plain: record.campaign };
  const messageFile = record.message && basename(record.message.file);
  const channel = record.audience?.startsWith('channel ') ? record.audience.slice('channel '.length) : undefined;
  const audience = channel === undefined ? record.audience && basename(record.audience) : undefined;
  const to = channel !== undefined ? { heading: `channel ${value(channel)}`, plain: `channel ${channel}` } : audience ? { heading: value(audience), plain: audience } : undefined;
  if (messageFile && to) return { heading: `${value(messageFile)} to ${to.heading}`, plain: `${messageFile} to ${to.plain}`, id: record.campaign };
  if (to) return { ...to, id: record.campaign };
  return { heading: value(messageFile ?? record.campaign), plain: messageFile ?? record.campaign, id: record.campaign };
}

/** The campaign as a whole: over every run, or (a record from before runs were kept) this run. */
function wholeCampaign(record: CampaignRecord): CampaignOverall {
  return (
    record.overall ?? {
      runs: 1,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      seconds: record.durationSeconds,
      sends: record.sends ?? 0,
      retries: record.retries,
      sendsPerSecond: record.sendsPerSecond,
    }
  );
}

function header(record: CampaignRecord, name: ReturnType<typeof campaignName>): string {
  const check = record.command === 'check';
  const whole = wholeCampaign(record);
  const facts: Array<[string, string, string?]> = [
    ['audience', record.audience ? value(record.audience) : '(none)'],
    [
      'message',
      record.message
        ? `${value(record.message.file)}${record.message.sha256 ? ` <span class="muted">(sha256 ${text(record.message.sha256.slice(0, 12))}…)</span>` : ''}`
        : '(none)',
    ],
    ['runs', String(whole.runs), 'id="overall-runs"'],
    ['first started', timeText(whole.startedAt), 'id="overall-started"'],
    ['last finished', timeText(whole.finishedAt), 'id="overall-finished"'],
    ['time spent sending', durationText(whole.seconds), `id="overall-seconds" data-seconds="${whole.seconds}"`],
    ['sends', `${whole.sends} <span class="muted">(requests made, ${whole.retries} of them retries)</span>`, 'id="overall-sends"'],
    ['rate', rateText(whole.sendsPerSecond), 'id="overall-rate"'],
  ];
  if (record.shard) facts.unshift(['shard', value(record.shard)]);
  return `<header>
<p class="kicker">${check ? 'Token check' : 'Campaign report'}</p>
<h1 id="campaign-name">${name.heading}</h1>
${name.id ? `<p class="campaign-id">campaign id <code>${value(name.id)}</code></p>` : ''}
<p class="status-line"><span class="status ${text(record.status)}" id="status">${text(record.status)}</span> <span id="next-step">${nextStep(record)}</span></p>
${figures(record, check)}
<dl class="facts">${facts.map(([term, shown, attributes]) => `<dt>${text(term)}</dt><dd${attributes ? ` ${attributes}` : ''}>${shown}</dd>`).join('')}</dl>
<p class="muted" id="time-zone">Times are this machine's local time, ${text(machineTimeZone())} (UTC${text(offsetText(whole.startedAt))}). The rate is ${rateUnit}: requests made, retries included, per second spent sending.</p>
<p class="muted">${check ? 'FCM checked these tokens with validate_only: nothing was delivered, and valid means FCM would take a message for the token.' : 'Push providers give no delivery receipts: accepted means the provider took the message, not that a person saw it.'}</p>
</header>`;
}

/** The status in words, with what to do about it. */
function nextStep(record: CampaignRecord): string {
  const check = record.command === 'check';
  switch (record.status) {
    case 'done':
      return check ? 'Finished: every token was checked.' : 'Finished: nothing is left to send.';
    case 'scheduled': {
      const later = record.schedule?.deferred ?? 0;
      const next = record.schedule?.nextDueAt ? ` (the next at ${timeText(record.schedule.nextDueAt)})` : '';
      return `Every recipient due now was handled, ${counted(later, 'recipient')} due later${next}: the same command sends them when run again then (from cron, or with --wait).`;
    }
    case 'interrupted':
      if (check) return 'Interrupted before the end: run the check again.';
      return record.files?.journal
        ? 'Interrupted before the end: <strong>run the same command again to resume</strong>; recipients already sent are not sent again.'
        : 'Interrupted before the end, and this run kept no journal: running it again sends to everyone again.';
    case 'stopped':
      return record.fatal
        ? `Stopped${record.fatal.provider ? ` by ${text(record.fatal.provider)}` : ''} (${value(record.fatal.reason)}): <strong>${text(record.fatal.fix)}</strong>`
        : 'Stopped before the end: see what needs attention below.';
  }
}

/** The figures a reader looks for first: the share accepted, the tokens to prune, what was not sent. */
function figures(record: CampaignRecord, check: boolean): string {
  const { targeted, accepted, invalid, rejected, failed, uncertain, skipped } = record.counts;
  const heldBack = record.invalidHeldBack ?? 0;
  const share = targeted > 0 ? `${((accepted / targeted) * 100).toFixed(1)}%` : '–';
  const figure = (id: string, big: string | number, words: string) => `<div class="figure" id="${id}"><span class="big">${big}</span>${words}</div>`;
  return `<div class="figures">
${figure('accepted-share', share, `${check ? 'valid' : 'accepted'} <span class="muted">(${accepted} of ${targeted} ${check ? 'checked' : 'targeted'})</span>`)}
${figure('invalid-figure', invalid, heldBack > 0 ? `invalid tokens <span class="muted">(${heldBack} held back as suspect, ${invalid - heldBack} to prune)</span>` : 'invalid tokens, to prune')}
${figure('not-sent-figure', rejected + failed + skipped, `not sent <span class="muted">(${rejected} rejected, ${failed} failed, ${skipped} skipped)</span>`)}
${uncertain > 0 ? figure('uncertain-figure', uncertain, 'uncertain <span class="muted">(maybe delivered, not resent)</span>') : ''}
</div>`;
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
<div class="table-wrap"><table>
<thead><tr><th>provider</th><th></th><th>targeted</th>${kinds.map((kind) => `<th>${label(kind)}</th>`).join('')}</tr></thead>
<tbody>
${rowsOf.map(([name, key, counts]) => row(name, key, counts)).join('\n')}
${row('total', 'total', record.counts, true)}
</tbody>
</table></div>
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
  return `<svg class="bar" viewBox="0 0 200 18" preserveAspectRatio="none" role="img" aria-label="${kinds.map((kind) => `${kind} ${counts[kind]}`).join(', ')}">${segments.join('')}</svg>`;
}

/** The message as the recipients read it, in each language; and every message, when the campaign changed it. */
function message(record: CampaignRecord): string {
  const sent = record.message;
  if (!sent) return '';
  const previews = sent.preview ?? [];
  const shown = previews.map((preview) => {
    const which = preview.locale !== undefined ? `language ${value(preview.locale)}` : previews.length > 1 ? 'base text (any other language)' : 'text';
    return `<div class="preview" data-locale="${text(preview.locale ?? '')}"><p class="locale">${which}</p>${preview.title !== undefined ? `<p class="title" dir="auto">${text(preview.title)}</p>` : ''}${
      preview.body !== undefined ? `<p class="body" dir="auto">${text(preview.body)}</p>` : ''
    }</div>`;
  });
  const source =
    previews.length > 0
      ? `<p class="muted">From ${value(sent.file)}; placeholders such as {{name}} are shown as written: each recipient got them filled in.</p>`
      : `<p class="muted">The text of ${value(sent.file)} is not in this record (it keeps the text of the message given to the run that wrote it): open the file to read it.</p>`;
  const all = record.messages ?? [];
  const changes =
    all.length > 1
      ? `<h3>Messages sent (the message changed with --change-message)</h3>
<div class="table-wrap"><table id="messages">
<thead><tr><th class="text">file</th><th class="text">sha256</th><th>first run</th><th>sends</th></tr></thead>
<tbody>
${all.map((one) => `<tr class="message"><td class="text">${value(one.file)}</td><td class="text"><code>${text(one.sha256.slice(0, 12))}…</code></td><td>${one.fromRun}</td><td>${one.sends}</td></tr>`).join('\n')}
</tbody>
</table></div>`
      : '';
  return `<section id="message">
<h2>Message</h2>
${shown.join('\n')}
${source}
${changes}
</section>`;
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
            `<div class="reason" data-reason="${text(reason)}"><span>${value(reason)}</span><span><span class="fill" style="--c:${colours[kind]};display:block;width:${((n / most) * 100).toFixed(1)}%"></span></span><span class="n">${n}</span></div>`,
        )
        .join('')}</div>`;
    });
  return parts.length > 0 ? `<section id="reasons">\n<h2>Reasons</h2>\n${parts.join('\n')}\n</section>` : '';
}

/** The files to act on: where the prune list is (or how to get it), the suspect and failed lists, the journal. */
function files(record: CampaignRecord): string {
  const written = record.files ?? {};
  const entries: Array<[string, string, string | undefined]> = [
    ['invalid-out', 'prune list: the invalid tokens, to remove from your database', written.invalidOut],
    ['suspect-out', 'suspect tokens: answered invalid, held back from the prune list', written.suspectOut],
    ['failed-out', 'to send again later: the rows that failed', written.failedOut],
    ['journal', 'journal: what makes running the same command again resume', written.journal],
    ['registry', `device registry${record.registry ? `: ${record.registry.marked} marked invalid, ${record.registry.heldBack} held back` : ''}`, record.registry?.file],
  ];
  const toPrune = record.counts.invalid - (record.invalidHeldBack ?? 0);
  const hint =
    toPrune > 0 && !written.invalidOut ? `<p class="note" id="prune-hint">${counted(toPrune, 'invalid token')} to prune, in no file yet: ${text(pruneListWhere(record))}.</p>` : '';
  const listed = entries.filter((entry): entry is [string, string, string] => entry[2] !== undefined);
  if (listed.length === 0 && !hint) return '';
  return `<section id="files">
<h2>Files</h2>
${hint}
${listed.length > 0 ? `<dl class="facts">${listed.map(([id, what, path]) => `<dt>${text(what)}</dt><dd id="file-${id}">${value(path)}</dd>`).join('')}</dl>` : ''}
</section>`;
}

/** A listed run's number: the first run is 1, the ones after the runs left out count them. */
function runNumber(index: number, notListed: number): number {
  return index === 0 ? 1 : index + 1 + notListed;
}

/** The campaign run by run: when each started, how long it took, what it sent, how it ended, a change of message. */
function runs(record: CampaignRecord): string {
  const listed = record.runs ?? [];
  if (listed.length === 0) return '';
  const notListed = record.runsNotListed ?? 0;
  const lines = listed.map((run, index) => {
    const ended = `${text(runEndingWords[run.status])}${run.exitCode === undefined ? '' : `, exit ${run.exitCode}`}${run.shard ? ` (shard ${value(run.shard)})` : ''}`;
    const changed = run.changedMessage && run.message ? `changed to ${value(run.message.file)} <span class="muted">(sha256 ${text(run.message.sha256.slice(0, 12))}…)</span>` : '';
    const row = `<tr class="run" data-run="${runNumber(index, notListed)}" data-status="${text(run.status)}"><td>${runNumber(index, notListed)}</td><td class="text">${timeText(run.startedAt)}</td><td>${durationText(run.seconds)}</td><td data-kind="sends">${run.sends}</td><td>${run.retries}</td><td>${run.pauses}</td><td class="text">${ended}</td><td class="text">${changed}</td></tr>`;
    return index === 0 && notListed > 0
      ? `${row}\n<tr class="runs-not-listed"><td colspan="8" class="text muted">… ${counted(notListed, 'more run', 'more runs')}, not listed (the record keeps the first and the latest)</td></tr>`
      : row;
  });
  return `<section id="runs">
<h2>Runs</h2>
<div class="table-wrap"><table>
<thead><tr><th>run</th><th class="text">started</th><th>took</th><th>sends</th><th>retries</th><th>pauses</th><th class="text">ended</th><th class="text">message</th></tr></thead>
<tbody>
${lines.join('\n')}
</tbody>
</table></div>
</section>`;
}

/** A stretch of the chart: one run that sent something (or, in a record without runs, the record's own timeline). */
interface ChartPart {
  run?: number;
  startedAt: string;
  seconds: number;
  timeline: TimelineRecord;
}

function chartParts(record: CampaignRecord): ChartPart[] {
  const drawn = (timeline: TimelineRecord | undefined): timeline is TimelineRecord => timeline !== undefined && timeline.sends.length > 0;
  if (!record.runs) return drawn(record.timeline) ? [{ startedAt: record.startedAt, seconds: record.durationSeconds, timeline: record.timeline }] : [];
  const notListed = record.runsNotListed ?? 0;
  return record.runs.flatMap((run, index) =>
    run.sends > 0 && drawn(run.timeline) ? [{ run: runNumber(index, notListed), startedAt: run.startedAt, seconds: run.seconds, timeline: run.timeline }] : [],
  );
}

/**
 * How long each bucket of a run lasted: the last one ends when the run did, so its rate is not
 * understated (a run of 1.4 s has a last bucket of 0.4 s), though never under a tenth of a bucket
 * (a batch's answers all count at once: no spike from one batch); and the run's span on the chart.
 */
function bucketTimes(part: ChartPart): { durations: number[]; span: number } {
  const { bucketSeconds, sends } = part.timeline;
  const before = (sends.length - 1) * bucketSeconds;
  const last = Math.min(bucketSeconds, Math.max(part.seconds - before, bucketSeconds / 10));
  return { durations: sends.map((_, i) => (i < sends.length - 1 ? bucketSeconds : last)), span: Math.max(part.seconds, before + last) };
}

/** Sends per second over the campaign: every run that sent something, end to end, a labelled divider between runs; retries and pauses marked. */
function timelineChart(record: CampaignRecord): string {
  const parts = chartParts(record);
  if (parts.length === 0) return '';
  const width = 880;
  const height = 240;
  const left = 80;
  const top = 24;
  const all = parts.flatMap((part) => part.timeline.pauses);
  const paused = providerNames.filter((provider) => all.some((pause) => pause.provider === provider));
  // Under the axis, a strip per provider that paused: its pauses stay visible where the bars cover their bands.
  const stripHeight = 6;
  const bottom = 24 + stripHeight * paused.length;
  // Room between runs for their divider, less of it when there are many.
  const gap = Math.min(10, (width - left - 8) / (parts.length * 4));
  const plotHeight = height - top - bottom;
  const base = top + plotHeight;
  const times = parts.map(bucketTimes);
  // Each run as wide as its time, but never too thin to see.
  const available = width - left - 8 - gap * (parts.length - 1);
  const total = times.reduce((sum, time) => sum + time.span, 0) || 1;
  const wanted = times.map((time) => Math.max(available / Math.max(12, parts.length * 2), (time.span / total) * available));
  const scale = available / wanted.reduce((sum, w) => sum + w, 0);
  const widths = wanted.map((w) => w * scale);
  const peak = Math.max(1, ...parts.flatMap((part, p) => part.timeline.sends.map((n, i) => n / times[p].durations[i])));
  const yOf = (rate: number) => base - (rate / peak) * plotHeight;
  const labelled = parts.length > 1 || (record.overall?.runs ?? 1) > 1;
  let x0 = left;
  const drawn = parts.map((part, p) => {
    const { durations, span } = times[p];
    const partWidth = widths[p];
    const xOf = (seconds: number) => x0 + (Math.min(seconds, span) / span) * partWidth;
    const runText = part.run === undefined ? '' : `run ${part.run}, `;
    let at = 0;
    const bars = part.timeline.sends
      .map((n, i) => {
        const x = xOf(at);
        const barWidth = Math.max(0.5, xOf(at + durations[i]) - x - 0.5);
        const rate = n / durations[i];
        const retried = part.timeline.retries[i] ?? 0;
        const bar = `<rect class="sends" data-sends="${n}" x="${x.toFixed(1)}" y="${yOf(rate).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(base - yOf(rate)).toFixed(1)}" fill="${sendsColour}"><title>${runText}${at.toFixed(0)} s: ${n} sends, ${rateText(Math.round(rate))}</title></rect>`;
        const retries = retried
          ? `<rect class="retries" data-retries="${retried}" x="${x.toFixed(1)}" y="${yOf(retried / durations[i]).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(base - yOf(retried / durations[i])).toFixed(1)}" fill="${retriesColour}"><title>${runText}${at.toFixed(0)} s: ${retried} retries decided</title></rect>`
          : '';
        at += durations[i];
        return bar + retries;
      })
      .join('');
    // Each pause a band in its provider's colour, under the bars so the sends stay visible, and a mark on its provider's strip.
    const bands = part.timeline.pauses.map((pause) => {
      const x = xOf(pause.atSeconds).toFixed(1);
      const bandWidth = Math.max(1, xOf(pause.atSeconds + pause.seconds) - xOf(pause.atSeconds)).toFixed(1);
      const title = `<title>${text(`${runText}${pause.provider} paused ${pause.seconds} s at ${pause.atSeconds} s (${pause.reason})`)}</title>`;
      return {
        band: `<rect class="pause" data-provider="${text(pause.provider)}" data-reason="${text(pause.reason)}" x="${x}" y="${top}" width="${bandWidth}" height="${plotHeight}" fill="${pauseColours[pause.provider]}" opacity="0.7">${title}</rect>`,
        strip: `<rect class="pause-strip" data-provider="${text(pause.provider)}" x="${x}" y="${base + 2 + stripHeight * paused.indexOf(pause.provider)}" width="${bandWidth}" height="${stripHeight - 2}" fill="${pauseColours[pause.provider]}">${title}</rect>`,
      };
    });
    const divider =
      p > 0
        ? `<line class="run-divider" x1="${(x0 - gap / 2).toFixed(1)}" y1="${top - 18}" x2="${(x0 - gap / 2).toFixed(1)}" y2="${base}" stroke="#424242" stroke-dasharray="3 2"/>`
        : '';
    const started = localTimeText(Date.parse(part.startedAt)).slice(0, 16);
    const label =
      labelled && part.run !== undefined
        ? `<text class="run-label" x="${(x0 + 2).toFixed(1)}" y="${top - 7}">${text(partWidth >= 150 ? `run ${part.run} · ${started}` : `run ${part.run}`)}<title>run ${part.run}, started ${text(started)}</title></text>`
        : '';
    const end = `<text x="${(x0 + partWidth).toFixed(1)}" y="${height - 6}" text-anchor="end">${text(durationText(span))}</text>`;
    x0 += partWidth + gap;
    return divider + bands.map((one) => one.band).join('') + bars + bands.map((one) => one.strip).join('') + label + end;
  });
  const axes = `<line x1="${left}" y1="${base}" x2="${width - 8}" y2="${base}" stroke="#9e9e9e"/><line class="peak" x1="${left}" y1="${top}" x2="${width - 8}" y2="${top}" stroke="#e0e0e0" stroke-dasharray="2 3"/><text class="peak-label" x="${left - 6}" y="${top + 4}" text-anchor="end"><tspan>peak </tspan><tspan x="${left - 6}" dy="13">${rateText(Math.round(peak))}</tspan></text><text x="${left - 6}" y="${base}" text-anchor="end">0</text><text x="${left}" y="${height - 6}">0 s</text>`;
  const notListed = parts.reduce((sum, part) => sum + part.timeline.pausesNotListed, 0);
  const pauseKeys = paused.map((provider) => {
    const byReason = new Map<string, number>();
    for (const pause of all.filter((one) => one.provider === provider)) byReason.set(pause.reason, (byReason.get(pause.reason) ?? 0) + 1);
    const why = [...byReason].map(([reason, n]) => `${value(reason)} (${n}×)`).join(', ');
    return `<span class="pause-key" data-provider="${provider}" style="--c:${pauseColours[provider]}">${provider} paused (waited out a quota or its connection): ${why}</span>`;
  });
  const explained = parts.length > 1 ? `<p class="muted">Every run that sent something, one after the other; the time between runs is left out.</p>` : '';
  return `<section id="timeline">
<h2>Sends per second</h2>
${explained}
<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="sends per second over the campaign, run by run">${drawn.join('')}${axes}</svg>
<div class="legend"><span style="--c:${sendsColour}">${rateUnit}: requests answered per second, retries included</span><span style="--c:${retriesColour}">retries decided per second</span>${pauseKeys.join('')}</div>
${notListed > 0 ? `<p class="muted">and ${notListed} more pauses, not drawn (the record keeps the first 200 of a run)</p>` : ''}
</section>`;
}

/** Rows with the same outcome, reason and detail are one row of the table, with their count and their lines. */
function rows(record: CampaignRecord): string {
  if (record.errors.length === 0) return '';
  const groups = new Map<string, { entry: CampaignRecord['errors'][number]; lines: number[] }>();
  for (const entry of record.errors) {
    const key = JSON.stringify([entry.kind, entry.provider ?? '', entry.reason ?? '', entry.detail ?? '']);
    const group = groups.get(key) ?? { entry, lines: [] };
    group.lines.push(entry.line);
    groups.set(key, group);
  }
  const noun = lineNoun(record.lineIs);
  const more = record.errorsNotListed > 0 ? `<p class="muted">and ${record.errorsNotListed} more not listed (the record keeps the first ${record.errors.length})</p>` : '';
  return `<section id="rows">
<h2>Skipped, rejected and failed rows</h2>
<div class="table-wrap"><table class="rows"><colgroup><col style="width:20%"><col style="width:9%"><col style="width:9%"><col style="width:20%"><col></colgroup>
<thead><tr>${[record.lineIs === 'token-option' ? noun : `${noun}s (count)`, 'provider', 'outcome', 'reason', 'detail'].map((name) => `<th class="text">${text(name)}</th>`).join('')}</tr></thead>
<tbody>
${[...groups.values()]
  .map(({ entry, lines }) => {
    const ranges = lineRanges(lines);
    const shown = record.lineIs === 'token-option' ? noun : `${ranges.slice(0, maxRanges).map(rangeText).join(', ')}${ranges.length > maxRanges ? ', …' : ''}`;
    return `<tr class="row-group" data-kind="${text(entry.kind)}" data-count="${lines.length}" data-lines="${ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(',')}"><td class="text">${shown} (${lines.length})</td><td class="text">${text(entry.provider ?? '')}</td><td class="text">${text(entry.kind)}</td><td class="text">${value(entry.reason ?? '')}</td><td class="text">${value(entry.detail ?? '')}</td></tr>`;
  })
  .join('\n')}
</tbody>
</table></div>
${more}
</section>`;
}

/** Line ranges shown in a row of the table; the rest are counted and kept in its data-lines. */
const maxRanges = 12;

/** Lines as ranges of consecutive lines, in order: 12, 13, 14, 160 are 12–14 and 160. */
function lineRanges(lines: number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const line of [...new Set(lines)].sort((a, b) => a - b)) {
    const last = ranges.at(-1);
    if (last && line === last[1] + 1) last[1] = line;
    else ranges.push([line, line]);
  }
  return ranges;
}

function rangeText([from, to]: [number, number]): string {
  return from === to ? String(from) : `${from}–${to}`;
}

function problems(record: CampaignRecord): string {
  const notes: string[] = [];
  if (record.fatal)
    notes.push(`<p class="note bad">Stopped${record.fatal.provider ? ` by ${text(record.fatal.provider)}` : ''} (${value(record.fatal.reason)}): ${text(record.fatal.fix)}</p>`);
  for (const halt of record.halted ?? []) notes.push(`<p class="note bad">${text(halt.provider)} to ${value(halt.scope)} stopped (${value(halt.reason)}): ${text(halt.fix)}</p>`);
  for (const suspect of record.suspect) notes.push(`<p class="note">${text(suspect.note)}</p>`);
  return notes.length > 0 ? `<section id="problems">\n<h2>What needs attention</h2>\n${notes.join('\n')}\n</section>` : '';
}

/** An instant in this machine's local time, with its offset; the instant itself in `datetime`. */
function timeText(iso: string): string {
  return `<time datetime="${text(iso)}">${text(localTimeText(Date.parse(iso)))}</time>`;
}

/** The local offset at an instant, `+03:30`. */
function offsetText(iso: string): string {
  return localTimeText(Date.parse(iso)).split(' ')[2];
}

function rateText(perSecond: number): string {
  return `${perSecond} ${rateUnit}`;
}

/** under 0.1 s, 0.4 s, 12.3 s, 4 min 5 s, 2 h 3 min. */
function durationText(seconds: number): string {
  if (seconds < 0.1) return seconds > 0 ? 'under 0.1 s' : '0 s';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

/** A value from a file, the environment or a provider: isolated from the text around it, its direction kept to itself. */
function value(raw: string): string {
  return `<bdi class="v">${text(raw)}</bdi>`;
}

/** JSON inside a script element: `<` escaped so no value can close the element. */
function embeddedJson(record: CampaignRecord): string {
  return JSON.stringify(record)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
