import { parseRetryAfter } from '../parse-retry-after.js';
import type { Outcome } from '../provider.js';

/**
 * A push service's answer (RFC 8030, RFC 8292) to an outcome. Push services answer in HTTP
 * status codes; their bodies differ from one service to the next and are kept only as detail.
 */
export function classifyWebPushResponse(statusCode: number | undefined, headers: Record<string, string | string[] | undefined>, body: string | undefined, errorMessage?: string): Outcome {
  const detail = (body ?? errorMessage ?? '').slice(0, 200) || undefined;
  if (statusCode === undefined) return { kind: 'retryable', reason: 'network-error', detail: errorMessage };
  if (statusCode >= 200 && statusCode < 300) return { kind: 'accepted', id: typeof headers.location === 'string' ? headers.location : undefined };
  switch (statusCode) {
    case 404:
      return { kind: 'invalid-token', reason: 'not-found', detail };
    case 410:
      return { kind: 'invalid-token', reason: 'unsubscribed', detail };
    case 403:
      // The subscription was made with another VAPID public key: dead for this sender. If every
      // subscription says so, the key is wrong instead: the engine stops the campaign.
      return { kind: 'invalid-token', reason: 'vapid-key-mismatch', detail };
    case 401:
      return {
        kind: 'fatal',
        reason: 'unauthorized',
        fix: 'the push service rejected the VAPID signature: check webpush.vapidPublicKey, webpush.vapidPrivateKey and webpush.subject (mailto: or https:, not localhost)',
      };
    case 413:
      return { kind: 'rejected-message', reason: 'payload-too-large', detail };
    case 429: {
      const retryAfterMs = parseRetryAfter(headers['retry-after']);
      return { kind: 'retryable', reason: 'too-many-requests', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), detail };
    }
    default:
      if (statusCode >= 500) {
        const retryAfterMs = parseRetryAfter(headers['retry-after']);
        return { kind: 'retryable', reason: `http-${statusCode}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), detail };
      }
      return { kind: 'rejected-message', reason: `http-${statusCode}`, detail };
  }
}
