import { classifyNoAnswer } from '../no-answer.js';
import { parseRetryAfter } from '../parse-retry-after.js';
import type { Outcome } from '../provider.js';

const vapidFix = 'the push service rejected the VAPID signature: check webpush.vapidPublicKey, webpush.vapidPrivateKey and webpush.subject (mailto: or https:, not localhost)';

/**
 * A push service's answer (RFC 8030, RFC 8292) to an outcome. Push services answer in HTTP
 * status codes; their bodies differ from one service to the next and are kept only as detail.
 * `failure` is the error web-push rejected with when no answer came (it carries `requestWritten`).
 */
export function classifyWebPushResponse(statusCode: number | undefined, headers: Record<string, string | string[] | undefined>, body: string | undefined, failure?: unknown): Outcome {
  if (statusCode === undefined) return classifyNoAnswer(failure, { written: (failure as { requestWritten?: boolean } | undefined)?.requestWritten });
  const detail = (body ?? '').slice(0, 200) || undefined;
  if (statusCode >= 200 && statusCode < 300) return { kind: 'accepted', id: typeof headers.location === 'string' ? headers.location : undefined };
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const answered = (reason: string): Outcome => ({ kind: 'retryable', reason, because: 'answered', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), detail });
  switch (statusCode) {
    case 404:
      return { kind: 'invalid-token', reason: 'not-found', detail };
    case 410:
      return { kind: 'invalid-token', reason: 'unsubscribed', detail };
    case 403:
      // The subscription was made with another VAPID public key: dead for this sender. If every
      // subscription says so, the key is wrong instead: the engine stops the campaign.
      return {
        kind: 'invalid-token',
        reason: 'vapid-key-mismatch',
        detail,
        wrongSender: 'every subscription rejected the VAPID key: they were made with another key pair; set webpush.vapidPublicKey and webpush.vapidPrivateKey to the pair your site subscribes with',
      };
    case 401:
      return { kind: 'rejected-message', reason: 'unauthorized', detail, wrongSender: vapidFix };
    case 413:
      return { kind: 'rejected-message', reason: 'payload-too-large', detail };
    case 429:
      return answered('too-many-requests');
    default:
      return statusCode >= 500 ? answered(`http-${statusCode}`) : { kind: 'rejected-message', reason: `http-${statusCode}`, detail };
  }
}
