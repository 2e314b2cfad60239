import { setTimeout as sleep } from 'node:timers/promises';
import type { PushcastConfig } from '../../config/config.js';
import { ConfigError } from '../../errors.js';
import { openFcmHttp1App } from './fcm-http1-app.js';

/** The Instance ID API takes at most 1,000 tokens a request (firebase-admin refuses more). */
export const topicBatchSize = 1000;
/**
 * "The rate of adding or removing topic subscriptions is limited to 3,000 QPS per project"
 * (Firebase, Send messages to topics): counted here per subscription, each token of a batch,
 * the reading that cannot exceed it.
 */
export const subscriptionsPerSecond = 3000;
/** Backoff after a throttled (429 RESOURCE_EXHAUSTED) or failed batch: 1 s, doubling, this many tries in all. */
const maxTries = 6;
const firstBackoffMs = 1000;

/** firebase-admin's per-token codes, back to the Instance ID API's own (what FCM's docs name). */
const iidReasons: Record<string, string> = {
  'messaging/registration-token-not-registered': 'NOT_FOUND',
  'messaging/invalid-registration-token': 'INVALID_ARGUMENT',
  'messaging/too-many-topics': 'TOO_MANY_TOPICS',
  'messaging/authentication-error': 'PERMISSION_DENIED',
  'messaging/internal-error': 'INTERNAL',
};
/** Whole-request failures worth another try: throttling, FCM's own failures, a connection lost. A batch is idempotent. */
const retryable = /^(messaging\/(message-rate-exceeded|server-unavailable|internal-error|unknown-error|app\/network-error)|app\/network-(error|timeout))$/;

export interface TopicSubscriptions {
  op: 'subscribe' | 'unsubscribe';
  topic: string;
  /** Tokens sent in batches (each once, whatever its retries). */
  tokens: number;
  /** Batch requests made, retries included. */
  requests: number;
  retries: number;
  /** Tokens the Instance ID API took. */
  done: number;
  /** Tokens it refused, each with its reason (NOT_FOUND, INVALID_ARGUMENT, …). */
  errors: Array<{ token: string; reason: string }>;
  /** Stopped by a signal before every token was sent. */
  interrupted: boolean;
}

/**
 * Subscribes tokens to an FCM topic, or unsubscribes them, through firebase-admin's
 * subscribeToTopic / unsubscribeFromTopic (the Instance ID API's batchAdd and batchRemove):
 * 1,000 a request, paced within FCM's 3,000 subscriptions a second, a throttled or failed batch
 * tried again after a backoff, and each token's refusal kept from the batch's answer.
 */
export async function manageTopicSubscriptions(
  config: PushcastConfig,
  request: { op: 'subscribe' | 'unsubscribe'; topic: string; tokens: AsyncIterable<string> | Iterable<string> },
  options: { signal?: AbortSignal; onBatch?(result: TopicSubscriptions): void } = {},
): Promise<TopicSubscriptions> {
  const { op, topic } = request;
  const result: TopicSubscriptions = { op, topic, tokens: 0, requests: 0, retries: 0, done: 0, errors: [], interrupted: false };
  const app = await openFcmHttp1App(config, options);
  const call = (tokens: string[]) => (op === 'subscribe' ? app.messaging.subscribeToTopic(tokens, topic) : app.messaging.unsubscribeFromTopic(tokens, topic));
  let nextAt = Date.now();
  const sendBatch = async (batch: string[]) => {
    for (let tries = 1; ; tries++) {
      await pause(nextAt - Date.now(), options.signal);
      if (options.signal?.aborted) return false;
      nextAt = Date.now() + (batch.length / subscriptionsPerSecond) * 1000;
      result.requests++;
      try {
        const answer = await call(batch);
        for (const { index, error } of answer.errors) result.errors.push({ token: batch[index], reason: iidReasons[error.code] ?? error.code });
        result.done += answer.successCount;
        result.tokens += batch.length;
        options.onBatch?.(result);
        return true;
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? '');
        const why = `${code || 'error'}: ${(error as Error).message}`;
        const sent = `${result.tokens} of the tokens were handled before it`;
        if (!retryable.test(code))
          throw new ConfigError(`FCM refused the topic ${op === 'subscribe' ? 'subscriptions' : 'unsubscriptions'} of "${topic}" (${why}); ${sent}`, { cause: error });
        if (tries >= maxTries) throw new ConfigError(`FCM's Instance ID API still failed after ${maxTries} tries (${why}); ${sent}: run the command again later`, { cause: error });
        result.retries++;
        nextAt = Math.max(nextAt, Date.now() + firstBackoffMs * 2 ** (tries - 1));
      }
    }
  };
  try {
    let batch: string[] = [];
    for await (const token of request.tokens) {
      batch.push(token);
      if (batch.length < topicBatchSize) continue;
      if (!(await sendBatch(batch))) return { ...result, interrupted: true };
      batch = [];
    }
    if (batch.length > 0 && !(await sendBatch(batch))) return { ...result, interrupted: true };
    return result;
  } finally {
    await app.close();
  }
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal }).catch(() => undefined);
}
