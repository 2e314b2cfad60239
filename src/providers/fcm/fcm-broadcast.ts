import type { ConditionMessage, TopicMessage } from 'firebase-admin/messaging';
import type { PushcastConfig } from '../../config/config.js';
import type { BroadcastAnswer, Broadcaster } from '../broadcast.js';
import type { FcmBroadcastTarget } from './fcm-topic-target.js';
import { openFcmHttp1App } from './fcm-http1-app.js';

/** Answers of FCM that say the credentials or the project are wrong, not this message. */
const senderFaults = new Set(['authentication-error', 'mismatched-credential', 'third-party-auth-error', 'invalid-credential']);
/**
 * Answers after which the message may have gone out all the same: FCM's 500 (its own failure,
 * mid-processing) and an answer that is not FCM's (an HTML 502 of a front end). With no answer
 * at all, these are uncertain: a topic message sent twice reaches every subscriber twice.
 */
const maybeProcessed = new Set(['internal-error', 'unknown-error']);

/**
 * One FCM message to a topic or a condition, through firebase-admin's `send()` (one HTTP/1.1
 * request). FCM answers with the message's id and nothing per device: it fans the message out
 * to the subscribers later, on its side.
 */
export async function createFcmBroadcaster(
  config: PushcastConfig,
  target: FcmBroadcastTarget,
  message: TopicMessage | ConditionMessage,
  options: { signal?: AbortSignal } = {},
): Promise<Broadcaster> {
  const app = await openFcmHttp1App(config, options);
  return {
    provider: 'fcm',
    target: 'topic' in target ? { kind: 'topic', value: target.topic } : { kind: 'condition', value: target.condition },
    async send(): Promise<BroadcastAnswer> {
      const connected = app.agent.watch();
      try {
        return { kind: 'accepted', id: await app.messaging.send(message) };
      } catch (error) {
        return classifyBroadcastError(error, connected());
      }
    },
    close: () => app.close(),
  };
}

function classifyBroadcastError(error: unknown, connected: boolean): BroadcastAnswer {
  const code = String((error as { code?: unknown }).code ?? 'error');
  const reason = code.replace(/^(messaging|app)\//, '');
  const detail = (error as Error).message ?? String(error);
  // A request whose connection never opened never reached FCM (a refused connection, a name that
  // does not resolve, credentials refused by the token endpoint before any request).
  if (!connected) return { kind: 'not-sent', reason, detail };
  if (code.startsWith('app/network') || code === 'messaging/app/network-error' || maybeProcessed.has(reason)) return { kind: 'uncertain', reason, detail };
  return { kind: 'refused', reason, detail, stopsSender: senderFaults.has(reason) };
}
