import { randomUUID } from 'node:crypto';
import type { BatchResponse, Messaging } from 'firebase-admin/messaging';
import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import { readSecret } from '../../config/read-secret.js';
import { defaultFcmBatch } from '../../config/defaults.js';
import { requestTimeoutMs } from '../../config/timeouts.js';
import { ConfigError } from '../../errors.js';
import { checkProviderHost } from '../http2/check-provider-host.js';
import { classifyNoAnswer } from '../http2/no-answer.js';
import { OpenSessions } from '../http2/open-sessions.js';
import type { Outcome } from '../../domain/outcome.js';
import type { Provider, Rendered } from '../provider.js';
import { classifyFcmError } from './classify-fcm.js';
import { withApnsExpiration, type FcmPayload } from './payload.js';
import { installFcmConnectHook, observeSession } from './fcm-connect-hook.js';
import { KeptSessions } from './kept-sessions.js';
import { parseServiceAccount, serviceAccountCredential } from './service-account-credential.js';

/** A 404 that is not FCM's answer about a token: the requests go somewhere else; nobody is pruned, FCM stops. */
const notFcmNotFound: Outcome = {
  kind: 'fatal',
  reason: 'not-found-not-fcm',
  fix: "FCM's send endpoint answered 404 without saying the token is unregistered: the requests went to a path that is not FCM's (check fcm.projectId, and fcm.endpoint if a proxy is set); no token was marked invalid",
};

/** firebase-admin refuses more than 500 messages in one sendEach call. */
export const fcmMaxBatch = 500;
const fcmOrigin = 'https://fcm.googleapis.com';

export async function createFcmProvider(config: PushcastConfig, options: { validateOnly?: boolean; signal?: AbortSignal } = {}): Promise<Provider<'fcm', FcmPayload>> {
  const settings = config.fcm ?? {};
  if (!settings.serviceAccount) {
    throw new ConfigError('FCM: no service account: set GOOGLE_APPLICATION_CREDENTIALS or fcm.serviceAccount (a path to the JSON key, or its content)');
  }
  const account = parseServiceAccount(readSecret('fcm.serviceAccount', settings.serviceAccount), 'fcm.serviceAccount');
  const ca = config.ca ? readSecret('ca', config.ca) : undefined;
  const endpoint = settings.endpoint ? parseEndpoint('fcm.endpoint', settings.endpoint).origin : undefined;
  const batchSize = Math.min(settings.batchSize ?? defaultFcmBatch, fcmMaxBatch);
  const timeoutMs = requestTimeoutMs(config);

  const [{ initializeApp, deleteApp }, { getMessaging }] = await Promise.all([import('firebase-admin/app'), import('firebase-admin/messaging')]);
  const credential = serviceAccountCredential(account, { ca, signal: options.signal });
  const removeHook = installFcmConnectHook({ redirect: endpoint ? { endpoint, ca } : undefined });
  const app = initializeApp({ credential, projectId: settings.projectId ?? account.project_id }, `pushcast-${randomUUID()}`);
  const messaging = getMessaging(app);
  disableClientRetries(messaging);
  const sessions = new OpenSessions(timeoutMs);
  const kept = new KeptSessions({ sessions });

  return {
    name: 'fcm',
    maxBatch: batchSize,

    async verify(signal) {
      await credential.getAccessToken(); // resolves the token endpoint's host first
      await checkProviderHost('FCM', new URL(endpoint ?? fcmOrigin), { ca, setting: endpoint && 'fcm.endpoint', signal });
    },

    async send(batch: ReadonlyArray<Rendered<'fcm', FcmPayload>>): Promise<Outcome[]> {
      const now = Math.floor(Date.now() / 1000);
      const messages = batch.map((item) => withApnsExpiration(item.payload, now));
      const { result, observation } = observeSession(() => messaging.sendEach(messages, options.validateOnly), { kept });
      let response: BatchResponse | undefined;
      let failure: unknown;
      try {
        response = await result;
      } catch (error) {
        // firebase-admin 13 rejects the whole call on an HTTP/2 session error (GOAWAY, reset, TLS);
        // the answers that did arrive are in pendingBatchResponse: keep them, so nothing accepted is resent.
        failure = error;
        const pending = (error as { pendingBatchResponse?: Promise<BatchResponse> }).pendingBatchResponse;
        response = pending ? await pending.catch(() => undefined) : undefined;
      }
      if (endpoint && !observation.hooked) {
        return batch.map(() => ({
          kind: 'fatal',
          reason: 'endpoint-override-failed',
          fix: 'this firebase-admin version no longer connects through http2.connect, so fcm.endpoint cannot redirect it: pin firebase-admin 13 or update pushcast',
        }));
      }
      // One session carries the whole batch: if it never connected, none of its requests left.
      const context = { written: observation.established ? undefined : false, retryAfterMs: observation.retryAfterMs };
      if (!response) return batch.map(() => classifyNoAnswer(observation.sessionError ?? failure, context));
      return response.responses.map((item, place): Outcome => {
        if (item.success) return { kind: 'accepted', id: item.messageId };
        if (observation.foreignNotFound.has(messages[place].token)) return notFcmNotFound;
        return classifyFcmError(item.error, context);
      });
    },

    abandon: () => sessions.destroyAll(),
    async close() {
      sessions.close();
      await deleteApp(app).catch(() => undefined);
      removeHook();
    },
  };
}

/**
 * firebase-admin retries 503s, resets and its own timeouts inside every call, up to 4 times, with
 * no public setting: a second retry layer under pushcast's, which multiplied requests (5 x 5
 * under a steady 503) and resent requests that may have been delivered. One layer: pushcast's.
 * test/fcm-redirect.test.ts fails if an upgrade moves these clients.
 */
export function disableClientRetries(messaging: Messaging): void {
  const handler = (messaging as unknown as { messagingRequestHandler?: Record<string, { retry?: unknown } | undefined> }).messagingRequestHandler;
  const clients = [handler?.httpClient, handler?.http2Client];
  if (clients.some((client) => !client || !('retry' in client))) {
    throw new ConfigError(
      'this firebase-admin version keeps its request clients elsewhere, so its own retries cannot be turned off and could send a push twice: pin firebase-admin 13 or update pushcast',
    );
  }
  for (const client of clients) client!.retry = undefined;
}
