import { sendJson, type EmulatorContext, type Exchange } from './exchange.js';

/** The Android app id the emulator's project has: what its config names, and the only one its Data API knows. */
export const emulatorAndroidAppId = '1:424242424242:android:5eed0e1a70b00000';

const deliveryDataPath = /^\/v1beta1\/projects\/([^/]+)\/androidApps\/([^/]+)\/deliveryData$/;

/**
 * GET /v1beta1/projects/{project}/androidApps/{appId}/deliveryData, as fcmdata.googleapis.com
 * answers it: one entry per day and analytics label (the messages without one grouped under none),
 * from what the emulator accepted; its outcome percentages are the ones it was told
 * (`deliveryOutcomes`), as it cannot know whether a device showed anything. Paged by `pageSize`
 * (at most the emulator's `dataPageSize`) and `pageToken`, which must come back with the same
 * parameters. Google's errors: 401 without a token it issued, 403 for another project, 404 for
 * another app. (FCM's real data lags by a day or more; the emulator's is there at once.)
 */
export function handleFcmDeliveryData(context: EmulatorContext, exchange: Exchange): void {
  const pathname = exchange.path;
  const query = (exchange.req.url ?? '').split('?')[1] ?? '';
  const error = (code: number, status: string, message: string) => sendJson(exchange, code, { error: { code, message, status } });
  const match = deliveryDataPath.exec(pathname);
  if (!match || exchange.req.method !== 'GET') return error(404, 'NOT_FOUND', 'Requested entity was not found.');
  const bearer = /^Bearer (.+)$/.exec(String(exchange.req.headers.authorization ?? ''))?.[1];
  if (!bearer || !context.accessTokens.has(bearer)) {
    return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
  }
  const [, project, appId] = match.map(decodeURIComponent);
  if (project !== context.credentials.serviceAccount.project_id) {
    return error(
      403,
      'PERMISSION_DENIED',
      `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`,
    );
  }
  if (appId !== emulatorAndroidAppId) return error(404, 'NOT_FOUND', 'Requested entity was not found.');
  const params = new URLSearchParams(query);
  const { behaviour } = context.state;
  const requested = Number(params.get('pageSize') ?? 1000);
  const pageSize = Math.max(1, Math.min(Number.isInteger(requested) && requested > 0 ? requested : 1000, 10_000, behaviour.dataPageSize));
  const entries = [...context.state.fcmAcceptedByDayAndLabel.values()].sort((a, b) => a.date.localeCompare(b.date) || a.label.localeCompare(b.label));
  let start = 0;
  const pageToken = params.get('pageToken');
  if (pageToken) {
    start = Number(Buffer.from(pageToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0 || start > entries.length) return error(400, 'INVALID_ARGUMENT', 'Invalid page token.');
  }
  const page = entries.slice(start, start + pageSize);
  const next = start + pageSize < entries.length ? Buffer.from(String(start + pageSize)).toString('base64url') : undefined;
  sendJson(exchange, 200, {
    androidDeliveryData: page.map(({ date, label, count }) => {
      const [year, month, day] = date.split('-').map(Number);
      return {
        appId,
        date: { year, month, day },
        ...(label ? { analyticsLabel: label } : {}),
        data: { countMessagesAccepted: String(count), messageOutcomePercents: behaviour.deliveryOutcomes },
      };
    }),
    ...(next ? { nextPageToken: next } : {}),
  });
}
