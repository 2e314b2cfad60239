import type { ClientRequest } from 'node:http';
import { Agent, type AgentOptions } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import type { PushcastConfig } from '../../config/config.js';
import { parseEndpoint, socketHost } from '../../config/parse-endpoint.js';
import { readSecret } from '../../config/read-secret.js';
import { requestTimeoutMs } from '../../config/timeouts.js';
import { checkProviderHost } from '../http2/check-provider-host.js';
import { notSent, type Outcome } from '../../domain/outcome.js';
import type { Provider, Rendered } from '../provider.js';
import { classifyNoAnswer, unsentError } from '../http2/no-answer.js';
import { OpenSessions } from '../http2/open-sessions.js';
import { classifyWebPushResponse } from './classify-webpush.js';
import { PushServiceConnections, type PushRequest } from './push-service-connections.js';
import type { WebPushPayload } from './payload.js';
import { checkVapid } from './vapid.js';

type WebPushModule = typeof import('web-push');

/** A VAPID JWT may live 24 hours; web-push signs for 12. Renew after one, well before it ends. */
const vapidRenewMs = 60 * 60 * 1000;
const vapidLifetimeSeconds = 12 * 60 * 60;
/** Sockets per push service: the engine's concurrency is the real cap. */
const maxSockets = 256;
/** As for APNs (apnsBatch): one request a subscription; 50 sent a 20k campaign 1.39x faster than 500. */
const recipientsPerBatch = 50;

/**
 * A keep-alive agent that notes, on the error of a request that got no answer, whether the
 * request had been fully written (`requestWritten`): web-push rejects with the bare error, and
 * only a request that never fully left may be sent again. Node's ClientRequest hands itself to
 * `addRequest` before web-push adds its own error listener, so this note is there when it rejects.
 */
class ObservingAgent extends Agent {
  constructor(options: AgentOptions) {
    super(options);
    const addRequest = (this as unknown as { addRequest: (request: ClientRequest, ...rest: unknown[]) => void }).addRequest;
    (this as unknown as { addRequest: typeof addRequest }).addRequest = (request, ...rest) => {
      request.once('error', (error) => Object.assign(error, { requestWritten: request.writableFinished }));
      addRequest.call(this, request, ...rest);
    };
  }
}

/**
 * Ends every HTTP/1.1 request the agent holds, for a push service that stopped answering. One
 * still waiting for a socket never left, and says so; it is ended first, or a socket freed below
 * would take it and send it. One on a socket says by `requestWritten` whether it had left whole.
 */
function abandonRequests(agent: Agent): void {
  const waiting = Object.values(agent.requests as unknown as Record<string, ClientRequest[] | undefined>).flat();
  for (const request of waiting) request?.destroy(unsentError('never sent: still waiting for a connection to the push service when it stopped answering'));
  for (const socket of Object.values(agent.sockets).flat()) socket?.destroy();
}

export async function createWebPushProvider(config: PushcastConfig): Promise<Provider<'webpush', WebPushPayload>> {
  const settings = config.webpush ?? {};
  const vapid = checkVapid({ ...settings, vapidPrivateKey: settings.vapidPrivateKey && readSecret('webpush.vapidPrivateKey', settings.vapidPrivateKey) });
  const ca = config.ca ? readSecret('ca', config.ca) : undefined;
  const endpoint = settings.endpoint ? parseEndpoint('webpush.endpoint', settings.endpoint) : undefined;
  const timeoutMs = requestTimeoutMs(config);
  const webpush = ((await import('web-push')) as unknown as { default: WebPushModule }).default;

  // One keep-alive agent for every push service. With an endpoint override, the agent's host and
  // port win over each request's (Node's Agent spreads its options over the request's), so
  // requests go there while the VAPID audience stays the subscription's own origin; the
  // certificate checked is the override's, since that is who answers.
  const agent = new ObservingAgent({
    keepAlive: true,
    maxSockets,
    ca,
    ...(endpoint
      ? {
          host: socketHost(endpoint),
          port: Number(endpoint.port || 443),
          checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(socketHost(endpoint), cert),
        }
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

  const sessions = new OpenSessions(timeoutMs);
  const connections = new PushServiceConnections({ ca, redirect: endpoint, timeoutMs, sessions });

  const sendOne = async (item: Rendered<'webpush', WebPushPayload>, signal: AbortSignal): Promise<Outcome> => {
    // The campaign is stopping: a request not started is not started, and a later run sends it.
    if (signal.aborted) return notSent;
    const subscription = item.recipient.subscription!;
    const { payload } = item;
    const url = new URL(subscription.endpoint);
    const options = {
      vapidDetails: null as never, // the cached Authorization header below is sent unchanged
      headers: { Authorization: authorizationFor(url.origin) },
      TTL: payload.ttlSeconds ?? 2419200,
      urgency: payload.urgency,
      ...(payload.topic ? { topic: payload.topic } : {}),
      contentEncoding: 'aes128gcm' as const,
    };
    let service: Awaited<ReturnType<PushServiceConnections['service']>>;
    try {
      service = await connections.service(url);
    } catch (error) {
      return classifyNoAnswer(error, { written: false }); // no connection: nothing left
    }
    try {
      if (!service) {
        // A push service without HTTP/2: web-push's own HTTP/1.1 request, over the keep-alive agent.
        const result = await webpush.sendNotification(subscription, payload.plaintext, { ...options, agent, timeout: timeoutMs });
        return classifyWebPushResponse(subscription.endpoint, result.statusCode, result.headers, result.body);
      }
      if (signal.aborted) return notSent;
      const answer = await connections.send(service, webpush.generateRequestDetails(subscription, payload.plaintext, options) as PushRequest, url);
      if ('error' in answer) return classifyNoAnswer(answer.error, { written: answer.written, refused: answer.refused });
      return classifyWebPushResponse(subscription.endpoint, answer.status, answer.headers, answer.body);
    } catch (error) {
      const failure = error as { statusCode?: number; headers?: Record<string, string>; body?: string };
      return classifyWebPushResponse(subscription.endpoint, failure.statusCode, failure.headers ?? {}, failure.body, error);
    }
  };

  return {
    name: 'webpush',
    maxBatch: recipientsPerBatch,
    // Without an override, each subscription names its own push service: one that does not
    // resolve fails its own rows (retried, as a connection that never left), not the campaign.
    async verify(signal) {
      if (endpoint) await checkProviderHost('Web Push', endpoint, { ca, setting: 'webpush.endpoint', signal });
    },
    send(batch, signal) {
      return Promise.all(batch.map((item) => sendOne(item, signal)));
    },
    abandon() {
      sessions.destroyAll();
      abandonRequests(agent);
    },
    async close() {
      sessions.close();
      agent.destroy();
    },
  };
}
