import { classifyNoAnswer } from '../http2/no-answer.js';
import { parseRetryAfter } from '../http2/parse-retry-after.js';
import type { Outcome, RetryableReason } from '../../domain/outcome.js';
import { pushServiceOf } from './allowed-origins.js';

/**
 * A push service's answer (RFC 8030, RFC 8292) to an outcome. The status says little on its own:
 * a 401 or 403 may be a JWT the service refuses (the same one signs every request to that
 * service's origin, so it is the sender's problem there, never a dead subscription) or a
 * subscription made with another VAPID key (that subscription's problem). Each service says
 * which in its own words, captured from the services in src/emulator/real-answers.ts.
 * `failure` is the error web-push rejected with when no answer came (it carries `requestWritten`).
 */
export function classifyWebPushResponse(
  endpoint: string,
  statusCode: number | undefined,
  headers: Record<string, string | string[] | undefined>,
  body: string | undefined,
  failure?: unknown,
): Outcome {
  if (statusCode === undefined) return classifyNoAnswer(failure, { written: (failure as { requestWritten?: boolean } | undefined)?.requestWritten });
  // The service's own words: its status, and its body where it says more.
  const text = (body ?? '').trim().slice(0, 200);
  const detail = `HTTP ${statusCode}${text ? `: ${text}` : ''}`;
  if (statusCode >= 200 && statusCode < 300) return { kind: 'accepted', id: typeof headers.location === 'string' ? headers.location : undefined };
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const answered = (reason: RetryableReason): Outcome => ({ kind: 'retryable', reason, because: 'answered', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), detail });
  const origin = new URL(endpoint).origin;
  const refusal = refusalOf(pushServiceOf(endpoint), statusCode, body ?? '');
  if (refusal === 'jwt') {
    return {
      kind: 'rejected',
      reason: 'credentials-refused',
      detail,
      scope: origin,
      wrongSender: {
        fix: `${origin} refused the VAPID JWT for every subscription: webpush.subject must be a real mailto: or https: contact (Apple refuses localhost and reserved domains), and the key pair must be the one the browsers subscribed with`,
        when: 'all',
      },
    };
  }
  if (refusal === 'key') {
    return {
      kind: 'invalid',
      reason: 'other-sender',
      detail,
      wrongSender: {
        fix: 'every subscription rejected the VAPID key: they were made with another key pair; set webpush.vapidPublicKey and webpush.vapidPrivateKey to the pair your site subscribes with',
        when: 'all',
      },
    };
  }
  switch (statusCode) {
    case 404: // RFC 8030: the subscription expired
    case 410: // unsubscribed, or the service gave up on it
      return { kind: 'invalid', reason: 'unregistered', detail };
    case 413:
      return { kind: 'rejected', reason: 'payload-too-large', detail };
    case 406: // WNS: the sender is over its throttle limit
    case 429:
      return answered('rate-limited');
    default:
      return statusCode >= 500 ? answered('unavailable') : { kind: 'rejected', reason: 'bad-message', detail };
  }
}

/**
 * A refused VAPID JWT (`jwt`: the whole origin) or a subscription bound to another key (`key`),
 * as each service words it; undefined for any other answer.
 */
function refusalOf(service: ReturnType<typeof pushServiceOf>, status: number, body: string): 'jwt' | 'key' | undefined {
  switch (service) {
    case 'fcm':
      // 403 "the key in the authorization header does not correspond to the sender ID used to subscribe this user"
      if (status === 403 && /does not correspond to the sender ID/i.test(body)) return 'key';
      // 403 "invalid JWT provided", 400/401 "UnauthorizedRegistration"
      if (status === 401 || status === 403 || (status === 400 && /UnauthorizedRegistration/i.test(body))) return 'jwt';
      return undefined;
    case 'mozilla':
      // 401 {"errno": 109, "message": "Request did not validate …"}: autopush says so for any VAPID problem.
      if (status === 401 || status === 403) return /key.{0,40}(mismatch|match|correspond)/i.test(body) ? 'key' : 'jwt';
      return undefined;
    case 'apple':
      // 403 {"reason":"BadJwtToken"} covers the subject and the key alike: judged per origin, never pruned.
      if (status === 403 || status === 401) return 'jwt';
      return undefined;
    case 'windows':
    case 'other':
      // RFC 8292 §4.2: 401 when the authentication is absent or refused, 403 when the key is not the subscription's.
      if (status === 401) return 'jwt';
      if (status === 403) return 'key';
      return undefined;
  }
}
