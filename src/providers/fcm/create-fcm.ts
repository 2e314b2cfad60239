import { randomUUID } from 'node:crypto';
import type { BatchResponse } from 'firebase-admin/messaging';
import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import { readSecret } from '../../config/read-secret.js';
import { ConfigError } from '../../errors.js';
import type { Outcome, Provider, Rendered } from '../provider.js';
import { classifyFcmError } from './classify-fcm.js';
import { installFcmConnectHook, observeSession } from './fcm-connect-hook.js';
import { parseServiceAccount, serviceAccountCredential } from './service-account-credential.js';

/** firebase-admin refuses more than 500 messages in one sendEach call. */
export const fcmMaxBatch = 500;

export async function createFcmProvider(config: PushcastConfig, options: { dryRun?: boolean } = {}): Promise<Provider<'fcm'>> {
  const settings = config.fcm ?? {};
  if (!settings.serviceAccount) {
    throw new ConfigError('FCM: no service account: set GOOGLE_APPLICATION_CREDENTIALS or fcm.serviceAccount (a path to the JSON key, or its content)');
  }
  const account = parseServiceAccount(readSecret('fcm.serviceAccount', settings.serviceAccount), 'fcm.serviceAccount');
  const ca = config.ca ? readSecret('ca', config.ca) : undefined;
  const endpoint = settings.endpoint ? parseEndpoint('fcm.endpoint', settings.endpoint).origin : undefined;
  const batchSize = Math.min(settings.batchSize ?? fcmMaxBatch, fcmMaxBatch);

  const [{ initializeApp, deleteApp }, { getMessaging }] = await Promise.all([import('firebase-admin/app'), import('firebase-admin/messaging')]);
  const credential = serviceAccountCredential(account, { ca });
  const removeHook = installFcmConnectHook({ redirect: endpoint ? { endpoint, ca } : undefined });
  const app = initializeApp({ credential, projectId: settings.projectId ?? account.project_id }, `pushcast-${randomUUID()}`);
  const messaging = getMessaging(app);

  return {
    name: 'fcm',
    maxBatch: batchSize,

    async verify() {
      await credential.getAccessToken();
    },

    async send(batch: ReadonlyArray<Rendered<'fcm'>>): Promise<Outcome[]> {
      const { result, observation } = observeSession(() => messaging.sendEach(batch.map((item) => item.payload), options.dryRun));
      let response: BatchResponse | undefined;
      try {
        response = await result;
      } catch (error) {
        // firebase-admin 13 rejects the whole call on an HTTP/2 session error (GOAWAY, reset, TLS);
        // the answers that did arrive are in pendingBatchResponse: keep them, so nothing accepted is resent.
        const pending = (error as { pendingBatchResponse?: Promise<BatchResponse> }).pendingBatchResponse;
        response = pending ? await pending.catch(() => undefined) : undefined;
        if (!response) {
          const detail = (error as Error).message;
          return batch.map(() => ({ kind: 'retryable', reason: 'network-error', detail }));
        }
      }
      if (endpoint && !observation.connected) {
        return batch.map(() => ({
          kind: 'fatal',
          reason: 'endpoint-override-failed',
          fix: 'this firebase-admin version no longer connects through http2.connect, so fcm.endpoint cannot redirect it: pin firebase-admin 13 or update pushcast',
        }));
      }
      return response.responses.map((item) => (item.success ? { kind: 'accepted', id: item.messageId } : classifyFcmError(item.error, observation.retryAfterMs)));
    },

    async close() {
      await deleteApp(app).catch(() => undefined);
      removeHook();
    },
  };
}
