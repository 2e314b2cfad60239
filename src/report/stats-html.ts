import type { DeliveryDataEntry } from '../domain/delivery-data.js';
import type { CampaignStats, LabelStats } from './delivery-stats.js';
import { text } from './html-text.js';

/** The outcome shares FCM reports, in its order; any other it adds is shown after them. */
const outcomeOrder = ['delivered', 'pending', 'collapsed', 'droppedTooManyPendingMessages', 'droppedAppForceStopped', 'droppedDeviceInactive', 'droppedTtlExpired'];

/**
 * The campaign page's section on FCM's delivery data (`pushcast stats --html`): a row a day, then
 * all days; an A/B campaign's, a table a variant, each of its own label.
 */
export function deliveryDataSection(stats: CampaignStats): string {
  const parts = stats.variants
    ? stats.variants.map(
        (variant) => `<h3 id="fcm-delivery-${text(variant.name)}">Variant ${text(variant.name)} (label ${text(variant.analyticsLabel)})</h3>\n${labelPart(variant, stats.days)}`,
      )
    : [labelPart(stats, stats.days)];
  const title = stats.variants ? "FCM's delivery data, variant by variant" : `FCM's delivery data (label ${text(stats.analyticsLabel)})`;
  return `<section id="fcm-delivery">
<h2>${title}</h2>
${parts.join('\n')}
<p class="note">${text(stats.scope)}</p>
</section>`;
}

function labelPart(stats: LabelStats, sendingDays: string[]): string {
  const days = stats.fcm.days;
  const keys = [...outcomeOrder, ...new Set(days.flatMap((entry) => Object.keys(entry.messageOutcomePercents)))].filter(
    (key, place, all) => all.indexOf(key) === place && days.some((entry) => (entry.messageOutcomePercents[key] ?? 0) > 0),
  );
  const words = (key: string) => key.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);
  const row = (label: string, entry: Pick<DeliveryDataEntry, 'countMessagesAccepted' | 'messageOutcomePercents'>, total = false) =>
    `<tr${total ? ' class="total"' : ''}><th>${text(label)}</th><td data-kind="accepted">${entry.countMessagesAccepted}</td>${keys
      .map((key) => `<td data-kind="${text(key)}">${entry.messageOutcomePercents[key] ?? 0}%</td>`)
      .join('')}</tr>`;
  const delays = stats.fcm.total?.deliveryPerformancePercents;
  return `<p>pushcast: ${stats.pushcast.fcmAccepted} of ${stats.pushcast.fcmTargeted} FCM messages accepted by FCM (every platform).</p>
${
  days.length === 0
    ? `<p>None yet for ${text(sendingDays.join(', '))}.</p>`
    : `<table><thead><tr><th>day</th><th>accepted</th>${keys.map((key) => `<th>${text(words(key))}</th>`).join('')}</tr></thead>
<tbody>${days.map((entry) => row(entry.date, entry)).join('')}${days.length > 1 && stats.fcm.total ? row('all days', stats.fcm.total, true) : ''}</tbody></table>`
}
${
  delays
    ? `<p>Delivery, in shares of the accepted: ${text(
        Object.entries(delays)
          .map(([key, value]) => `${words(key)} ${value}%`)
          .join(', '),
      )}.</p>`
    : ''
}
${stats.notYet.length > 0 && days.length > 0 ? `<p>No data yet for ${text(stats.notYet.join(', '))}.</p>` : ''}`;
}
