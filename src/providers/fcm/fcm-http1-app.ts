import { randomUUID } from 'node:crypto';
import type { Messaging } from 'firebase-admin/messaging';
import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import { readSecret } from '../../config/read-secret.js';
import { requestTimeoutMs } from '../../config/timeouts.js';
import { ConfigError } from '../../errors.js';
import { disableClientRetries } from './create-fcm.js';
import { FcmHttp1Agent } from './http1-agent.js';
import { parseServiceAccount, serviceAccountCredential } from './service-account-credential.js';

/** firebase-admin's messaging for its HTTP/1.1 calls (`send()`, topic management), and the agent they go through. */
export interface FcmHttp1App {
  messaging: Messaging;
  agent: FcmHttp1Agent;
  close(): Promise<void>;
}

/**
 * A firebase-admin app whose HTTP/1.1 requests go through pushcast's agent: FCM's send endpoint
 * to fcm.endpoint and the Instance ID API to fcm.topicsEndpoint when they are set, and with
 * firebase-admin's own retries off (one layer of retries, pushcast's: a retried topic message
 * could reach every subscriber twice).
 */
export async function openFcmHttp1App(config: PushcastConfig, options: { signal?: AbortSignal } = {}): Promise<FcmHttp1App> {
  const settings = config.fcm ?? {};
  if (!settings.serviceAccount) {
    throw new ConfigError('FCM: no service account: set GOOGLE_APPLICATION_CREDENTIALS or fcm.serviceAccount (a path to the JSON key, or its content)');
  }
  const account = parseServiceAccount(readSecret('fcm.serviceAccount', settings.serviceAccount), 'fcm.serviceAccount');
  const ca = config.ca ? readSecret('ca', config.ca) : undefined;
  const redirects = new Map<string, URL>();
  if (settings.endpoint) redirects.set('fcm.googleapis.com', parseEndpoint('fcm.endpoint', settings.endpoint));
  if (settings.topicsEndpoint) redirects.set('iid.googleapis.com', parseEndpoint('fcm.topicsEndpoint', settings.topicsEndpoint));
  const agent = new FcmHttp1Agent(redirects, { ca, timeoutMs: requestTimeoutMs(config) });
  const [{ initializeApp, deleteApp }, { getMessaging }] = await Promise.all([import('firebase-admin/app'), import('firebase-admin/messaging')]);
  const credential = serviceAccountCredential(account, { ca, signal: options.signal });
  const app = initializeApp({ credential, projectId: settings.projectId ?? account.project_id, httpAgent: agent }, `pushcast-${randomUUID()}`);
  const messaging = getMessaging(app);
  disableClientRetries(messaging);
  return {
    messaging,
    agent,
    async close() {
      await deleteApp(app).catch(() => undefined);
      agent.destroy();
    },
  };
}
