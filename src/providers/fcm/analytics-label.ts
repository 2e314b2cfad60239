import { createHash } from 'node:crypto';

/**
 * FCM's grammar for `fcm_options.analytics_label` (firebase-admin refuses any other before
 * sending): FCM's delivery data (the console's reports, the Data API) is kept per label. FCM
 * counts at most 100 distinct labels a day per project; the rest are not counted.
 */
export const analyticsLabelPattern = /^[a-zA-Z0-9\-_.~%]{1,50}$/;

/**
 * A campaign's label: its id, which already keeps to the grammar; an id longer than 50 keeps its
 * first 41 characters and a hash of the whole, so two long ids that start alike stay apart.
 */
export function campaignAnalyticsLabel(campaign: string): string {
  return withinGrammar(campaign);
}

/** An A/B variant's label: the campaign's, a dot, the variant's name; kept to the grammar as a campaign's is. */
export function variantAnalyticsLabel(label: string, variant: string): string {
  return withinGrammar(`${label}.${variant}`);
}

function withinGrammar(campaign: string): string {
  if (analyticsLabelPattern.test(campaign)) return campaign;
  const digest = createHash('sha256').update(campaign).digest('hex').slice(0, 8);
  return `${campaign.replace(/[^a-zA-Z0-9\-_.~%]/g, '_').slice(0, 41)}-${digest}`;
}
