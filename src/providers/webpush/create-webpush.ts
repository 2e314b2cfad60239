import { Agent } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint } from '../../config/parse-endpoint.js';
import { readSecret } from '../../config/read-secret.js';
import type { Outcome, Provider, Rendered } from '../provider.js';
import { classifyWebPushResponse } from './classify-webpush.js';
import { checkVapid } from './vapid.js';

type WebPushModule = typeof import('web-push');

/** A VAPID JWT may live 24 hours; web-push signs for 12. Renew after one, well before it ends. */
const vapidRenewMs = 60 * 60 * 1000;
const vapidLifetimeSeconds = 12 * 60 * 60;
/** Sockets per push service: the engine's concurrency is the real cap. */
const maxSockets = 256;
const recipientsPerBatch = 500;

export async function createWebPushProvider(config: PushcastConfig): Promise<Provider<'webpush'>> {
  const settings = config.webpush ?? {};
  const vapid = checkVapid({ ...settings, vapidPrivateKey: settings.vapidPrivateKey && readSecret('webpush.vapidPrivateKey', settings.vapidPrivateKey) });
  const ca = config.ca ? readSecret('ca', config.ca) : undefined;
  const endpoint = settings.endpoint ? parseEndpoint('webpush.endpoint', settings.endpoint) : undefined;
  const webpush = ((await import('web-push')) as unknown as { default: WebPushModule }).default;

  // One keep-alive agent for every push service. With an endpoint override, the agent's host and
  // port win over each request's (Node's Agent spreads its options over the request's), so
  // requests go there while the VAPID audience stays the subscription's own origin; the
  // certificate checked is the override's, since that is who answers.
  const agent = new Agent({
    keepAlive: true,
    maxSockets,
    ca,
    ...(endpoint
      ? { host: endpoint.hostname, port: Number(endpoint.port || 443), checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(endpoint.hostname, cert) }
      : {}),
  });

  // The VAPID header depends only on the push service's origin: sign once per origin, not per
  // message (re-importing the key and signing costs ~3x the encryption itself).
  const vapidHeaders = new Map<string, { authorization: string; signedAt: number }>();
  const authorizationFor = (origin: string): string => {
    const cached = vapidHeaders.get(origin);
    if (cached && Date.now() - cached.signedAt < vapidRenewMs) return cached.authorization;
    const expiration = Math.floor(Date.now() / 1000) + vapidLifetimeSeconds;
    const { Authorization } = webpush.getVapidHeaders(origin, vapid.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm', expiration);
    vapidHeaders.set(origin, { authorization: Authorization, signedAt: Date.now() });
    return Authorization;
  };

  const sendOne = async (item: Rendered<'webpush'>): Promise<Outcome> => {
    const subscription = item.recipient.subscription!;
    const { payload } = item;
    try {
      const result = await webpush.sendNotification(subscription, payload.plaintext, {
        vapidDetails: null as never, // the cached Authorization header below is sent unchanged
        headers: { Authorization: authorizationFor(new URL(subscription.endpoint).origin) },
        TTL: payload.ttlSeconds ?? 2419200,
        urgency: payload.urgency,
        ...(payload.topic ? { topic: payload.topic } : {}),
        contentEncoding: 'aes128gcm',
        agent,
        timeout: 30_000,
      });
      return classifyWebPushResponse(result.statusCode, result.headers, result.body);
    } catch (error) {
      const failure = error as { statusCode?: number; headers?: Record<string, string>; body?: string; message?: string };
      return classifyWebPushResponse(failure.statusCode, failure.headers ?? {}, failure.body, failure.message);
    }
  };

  return {
    name: 'webpush',
    maxBatch: recipientsPerBatch,
    send(batch) {
      return Promise.all(batch.map(sendOne));
    },
    async close() {
      agent.destroy();
    },
  };
}
