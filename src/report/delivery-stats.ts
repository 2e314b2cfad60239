import type { DeliveryDataEntry } from '../domain/delivery-data.js';
import type { CampaignRecord } from './campaign-record.js';

/** Of one label (a campaign's, or an A/B variant's): what pushcast knows, beside what FCM's delivery data adds. */
export interface LabelStats {
  analyticsLabel: string;
  /** FCM messages sent and FCM accepted, every platform (pushcast's report). */
  pushcast: { fcmTargeted: number; fcmAccepted: number };
  /** The Data API's entries of the label on the campaign's days, and all of them weighed together. */
  fcm: { days: DeliveryDataEntry[]; total?: Omit<DeliveryDataEntry, 'date' | 'analyticsLabel'> };
  /** Days the campaign sent on that FCM has no data for yet. */
  notYet: string[];
}

/** What `pushcast stats` says of a campaign; an A/B campaign's variants each carry their own label, and are given one by one. */
export interface CampaignStats extends LabelStats {
  campaign: string;
  /** The days (America/Los_Angeles, as FCM counts them) the campaign's runs sent on. */
  days: string[];
  /** An A/B campaign: each variant's label and figures (the campaign's own `fcm` holds every variant's entries, weighed together). */
  variants?: Array<LabelStats & { name: string }>;
  /** What the figures cover, said once with them. */
  scope: string;
}

const scope =
  "FCM's delivery data covers Android devices whose users share usage statistics, a day at a time (days end in America/Los_Angeles), and comes a day or more late; APNs and web push keep no such data.";

/**
 * Joins a campaign's record to the Data API's entries: those of its label (and of each A/B
 * variant's, `variantLabels`), on the days its runs sent.
 */
export function campaignStats(record: CampaignRecord, analyticsLabel: string, entries: DeliveryDataEntry[], variantLabels: ReadonlyMap<string, string> = new Map()): CampaignStats {
  const days = sendingDays(record);
  const ofLabels = (labels: ReadonlySet<string>): Pick<LabelStats, 'fcm' | 'notYet'> => {
    const ours = entries
      .filter((entry) => entry.analyticsLabel !== undefined && labels.has(entry.analyticsLabel) && days.includes(entry.date))
      .sort((a, b) => a.date.localeCompare(b.date) || a.analyticsLabel!.localeCompare(b.analyticsLabel!));
    return { fcm: { days: ours, ...(ours.length > 0 ? { total: weighed(ours) } : {}) }, notYet: days.filter((day) => !ours.some((entry) => entry.date === day)) };
  };
  const variants = [...variantLabels].map(([name, label]) => {
    const fcm = record.ab?.variants.find((variant) => variant.name === name)?.providers?.fcm;
    return { name, analyticsLabel: label, pushcast: { fcmTargeted: fcm?.targeted ?? 0, fcmAccepted: fcm?.accepted ?? 0 }, ...ofLabels(new Set([label])) };
  });
  return {
    campaign: record.campaign,
    analyticsLabel,
    days,
    pushcast: { fcmTargeted: record.providers.fcm.targeted, fcmAccepted: record.providers.fcm.accepted },
    ...ofLabels(new Set([analyticsLabel, ...variantLabels.values()])),
    ...(variants.length > 0 ? { variants } : {}),
    scope,
  };
}

/** The Los Angeles days from the first run's start to the last run's end. */
function sendingDays(record: CampaignRecord): string[] {
  const runs = record.runs && record.runs.length > 0 ? record.runs : [{ startedAt: record.startedAt, finishedAt: record.finishedAt }];
  const days = new Set<string>();
  for (const run of runs) {
    const end = Date.parse(run.finishedAt);
    // Steps of an hour: a day across a change of clocks is 23 or 25 hours long.
    for (let at = Date.parse(run.startedAt); at < end + hourMs; at += hourMs) days.add(losAngelesDay.format(new Date(Math.min(at, end))));
  }
  return [...days].sort();
}

const hourMs = 3_600_000;
const losAngelesDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The days together: counts added, each share weighed by its day's accepted messages (the API's denominator for every share). */
function weighed(entries: DeliveryDataEntry[]): NonNullable<CampaignStats['fcm']['total']> {
  const accepted = entries.reduce((sum, entry) => sum + entry.countMessagesAccepted, 0);
  const share = (pick: (entry: DeliveryDataEntry) => Record<string, number> | undefined, weight: (entry: DeliveryDataEntry) => number) => {
    const sums: Record<string, number> = {};
    let total = 0;
    for (const entry of entries) {
      const shares = pick(entry);
      if (!shares) continue;
      total += weight(entry);
      for (const [key, value] of Object.entries(shares)) sums[key] = (sums[key] ?? 0) + value * weight(entry);
    }
    return total > 0 ? Object.fromEntries(Object.entries(sums).map(([key, value]) => [key, round(value / total)])) : undefined;
  };
  const performance = share(
    (entry) => entry.deliveryPerformancePercents,
    (entry) => entry.countMessagesAccepted,
  );
  return {
    countMessagesAccepted: accepted,
    messageOutcomePercents:
      share(
        (entry) => entry.messageOutcomePercents,
        (entry) => entry.countMessagesAccepted,
      ) ?? {},
    ...(performance ? { deliveryPerformancePercents: performance } : {}),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The stats as text, for a terminal: an A/B campaign's variant by variant, each under its label. */
export function formatStats(stats: CampaignStats): string {
  const lines = stats.variants
    ? [
        `Campaign ${stats.campaign}: each variant's FCM messages carried its own analytics label`,
        ...stats.variants.flatMap((variant) => [`Variant ${variant.name}: FCM analytics label ${variant.analyticsLabel}`, ...labelLines(variant, stats.days, '  ')]),
      ]
    : [`Campaign ${stats.campaign}: FCM analytics label ${stats.analyticsLabel}`, ...labelLines(stats, stats.days, '')];
  lines.push(stats.scope);
  return `${lines.join('\n')}\n`;
}

function labelLines(stats: LabelStats, days: string[], indent: string): string[] {
  const lines = [`${indent}pushcast: ${stats.pushcast.fcmAccepted} of ${stats.pushcast.fcmTargeted} FCM messages accepted by FCM (every platform)`];
  if (stats.fcm.days.length === 0) return [...lines, `${indent}FCM's delivery data: none yet for ${days.join(', ')}`];
  lines.push(`${indent}FCM's delivery data (Android):`);
  for (const entry of stats.fcm.days) lines.push(`${indent}  ${entry.date}  ${dayLine(entry)}`);
  if (stats.fcm.days.length > 1 && stats.fcm.total) lines.push(`${indent}  all days    ${dayLine(stats.fcm.total)}`);
  const delays = stats.fcm.total?.deliveryPerformancePercents;
  if (delays) lines.push(`${indent}  delivery (shares of the accepted): ${percents(delays)}`);
  if (stats.notYet.length > 0) lines.push(`${indent}  no data yet for ${stats.notYet.join(', ')}`);
  return lines;
}

function dayLine(entry: Pick<DeliveryDataEntry, 'countMessagesAccepted' | 'messageOutcomePercents'>): string {
  return `accepted ${entry.countMessagesAccepted}: ${percents(entry.messageOutcomePercents) || 'no outcome shares'}`;
}

/** `delivered 91.2%, pending 6.1%`: the shares above zero, largest first, in FCM's words spaced out. */
function percents(shares: Record<string, number>): string {
  return Object.entries(shares)
    .filter(([, value]) => value > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([key, value]) => `${key.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`)} ${value}%`)
    .join(', ');
}
