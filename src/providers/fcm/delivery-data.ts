import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import { readSecret } from '../../config/read-secret.js';
import type { DeliveryDataEntry } from '../../domain/delivery-data.js';
import { ConfigError } from '../../errors.js';
import { resolveHost } from '../resolve-host.js';
import { googleJson } from './google-json.js';
import { parseServiceAccount, serviceAccountCredential } from './service-account-credential.js';

const dataOrigin = 'https://fcmdata.googleapis.com';
/** The most the API returns a page. */
const pageSize = 10_000;

/**
 * Every entry of the FCM Data API for the configured Android app (`fcm.androidAppId`), page after
 * page, with the service account's token (its cloud-platform scope). The API keeps data for
 * Android devices only, and only from devices whose users opted in to usage statistics.
 */
export async function listDeliveryData(config: PushcastConfig, signal?: AbortSignal): Promise<DeliveryDataEntry[]> {
  const settings = config.fcm ?? {};
  if (!settings.serviceAccount) throw new ConfigError('FCM: no service account: set GOOGLE_APPLICATION_CREDENTIALS or fcm.serviceAccount (a path to the JSON key, or its content)');
  if (!settings.androidAppId) {
    throw new ConfigError(
      "FCM's delivery data is kept per Android app: set fcm.androidAppId (or PUSHCAST_FCM_ANDROID_APP_ID) to its app id, 1:…:android:…, from the Firebase console's Project settings",
    );
  }
  const account = parseServiceAccount(readSecret('fcm.serviceAccount', settings.serviceAccount), 'fcm.serviceAccount');
  const ca = config.ca ? readSecret('ca', config.ca) : undefined;
  const origin = settings.dataEndpoint ? parseEndpoint('fcm.dataEndpoint', settings.dataEndpoint).origin : dataOrigin;
  const project = settings.projectId ?? account.project_id;
  const parent = `projects/${encodeURIComponent(project)}/androidApps/${encodeURIComponent(settings.androidAppId)}`;
  await resolveHost(new URL(origin), { setting: settings.dataEndpoint ? 'fcm.dataEndpoint' : undefined, signal });
  const { access_token: token } = await serviceAccountCredential(account, { ca, signal }).getAccessToken();
  const entries: DeliveryDataEntry[] = [];
  let pageToken: string | undefined;
  const seen = new Set<string>();
  do {
    const url = new URL(`/v1beta1/${parent}/deliveryData`, origin);
    url.searchParams.set('pageSize', String(pageSize));
    if (pageToken) url.searchParams.set('pageToken', pageToken);
    const { status, json } = await googleJson(url, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      ca,
      signal,
      timeoutMs: 30_000,
    }).catch((error: Error) => {
      throw new ConfigError(`could not reach the FCM Data API at ${origin}: ${error.message}`, { cause: error });
    });
    if (status !== 200) throw new ConfigError(refusal(status, json, { project, appId: settings.androidAppId, origin }));
    const page = json.androidDeliveryData ?? [];
    if (!Array.isArray(page)) throw new ConfigError(`the FCM Data API at ${origin} answered something that is not its delivery data: check fcm.dataEndpoint`);
    for (const raw of page as RawEntry[]) entries.push(entryOf(raw));
    const next = typeof json.nextPageToken === 'string' && json.nextPageToken !== '' ? json.nextPageToken : undefined;
    if (next !== undefined && seen.has(next)) throw new ConfigError(`the FCM Data API at ${origin} gave the same page token twice: try again later`);
    if (next !== undefined) seen.add(next);
    pageToken = next;
  } while (pageToken);
  return entries;
}

interface RawEntry {
  date?: { year?: number; month?: number; day?: number };
  analyticsLabel?: string;
  data?: {
    countMessagesAccepted?: string | number;
    countNotificationsAccepted?: string | number;
    messageOutcomePercents?: Record<string, number>;
    deliveryPerformancePercents?: Record<string, number>;
    messageInsightPercents?: Record<string, number>;
    proxyNotificationInsightPercents?: Record<string, number>;
  };
}

function entryOf(raw: RawEntry): DeliveryDataEntry {
  const { year = 0, month = 0, day = 0 } = raw.date ?? {};
  const data = raw.data ?? {};
  const count = (value: string | number | undefined) => (value === undefined ? undefined : Number(value)); // int64 comes as a string
  return {
    date: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    ...(raw.analyticsLabel ? { analyticsLabel: raw.analyticsLabel } : {}),
    countMessagesAccepted: count(data.countMessagesAccepted) ?? 0,
    ...(data.countNotificationsAccepted !== undefined ? { countNotificationsAccepted: count(data.countNotificationsAccepted) } : {}),
    messageOutcomePercents: data.messageOutcomePercents ?? {},
    ...(data.deliveryPerformancePercents ? { deliveryPerformancePercents: data.deliveryPerformancePercents } : {}),
    ...(data.messageInsightPercents ? { messageInsightPercents: data.messageInsightPercents } : {}),
    ...(data.proxyNotificationInsightPercents ? { proxyNotificationInsightPercents: data.proxyNotificationInsightPercents } : {}),
  };
}

/** What to do about the API's refusal, in one line: Google's words, and the setting to look at. */
function refusal(status: number, json: Record<string, unknown>, where: { project: string; appId: string; origin: string }): string {
  const error = (json.error ?? {}) as { message?: string; status?: string };
  const said = error.message ? `: ${error.status ?? status} ${error.message}` : ` (HTTP ${status})`;
  if (status === 401) return `the FCM Data API refused the service account's token${said}: check fcm.serviceAccount`;
  if (status === 403) {
    return `the FCM Data API refused project ${where.project}${said}: enable the Firebase Cloud Messaging Data API (fcmdata.googleapis.com) for the project, and give the service account a role that may read it; or check fcm.projectId`;
  }
  if (status === 404) return `the FCM Data API knows no Android app ${where.appId} in project ${where.project}${said}: check fcm.androidAppId`;
  return `the FCM Data API at ${where.origin} answered${said}: try again later`;
}
