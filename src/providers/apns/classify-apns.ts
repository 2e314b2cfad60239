import { classifyNoAnswer } from '../http2/no-answer.js';
import type { InvalidReason, Outcome, RejectedReason, RetryableReason, WrongSender } from '../../domain/outcome.js';
import type { RequestObservation } from './observe-requests.js';

/**
 * APNs `reason` strings to outcomes, in pushcast's words for every provider (the APNs reason is
 * kept at the start of `detail`).
 * https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
 * Credential answers (403) and topic answers are marked `wrongSender` (when all): one of them is
 * that recipient's problem (a row with another app's topic); all of them stop the campaign. A
 * large share of dead tokens is marked too (when many): in bulk they say the environment is wrong.
 */
type Rule =
  | { kind: 'invalid'; reason: InvalidReason; wrongSender?: WrongSender }
  | { kind: 'rejected'; reason: RejectedReason; wrongSender?: WrongSender }
  | { kind: 'retryable'; reason: RetryableReason }
  | { kind: 'fatal'; reason: string; fix: string };

/** Marks an answer that, given to every recipient, means the sender is wrong. */
const all = (fix: string): WrongSender => ({ fix, when: 'all' });
const otherEnvironment: WrongSender = {
  fix: 'tokens of the other APNs environment (sandbox and production tokens differ) or of another app: check apns.environment, the apns_environment column and the key',
  when: 'many',
  otherEnvironment: true,
};
const credentialFix = 'check apns.key, apns.keyId and apns.teamId (token auth) or apns.cert (certificate auth)';
const environmentFix = 'the .p8 key is not enabled for this APNs environment: check apns.environment';
const credentials = (fix: string): Rule => ({ kind: 'rejected', reason: 'credentials-refused', wrongSender: all(fix) });
const badMessage: Rule = { kind: 'rejected', reason: 'bad-message' };
const unavailable: Rule = { kind: 'retryable', reason: 'unavailable' };
const byReason: Record<string, Rule> = {
  Unregistered: { kind: 'invalid', reason: 'unregistered', wrongSender: { fix: otherEnvironment.fix, when: 'many' } },
  ExpiredToken: { kind: 'invalid', reason: 'unregistered' },
  // Also what a sandbox token gets from production and the reverse.
  BadDeviceToken: { kind: 'invalid', reason: 'bad-token', wrongSender: otherEnvironment },
  DeviceTokenNotForTopic: {
    kind: 'invalid',
    reason: 'other-sender',
    wrongSender: all('every token belongs to another app: set apns.topic to the bundle id the tokens were issued for'),
  },
  TooManyRequests: { kind: 'retryable', reason: 'device-rate-limited' },
  InternalServerError: unavailable,
  ServiceUnavailable: unavailable,
  Shutdown: unavailable,
  IdleTimeout: unavailable,
  ExpiredProviderToken: { kind: 'retryable', reason: 'credentials-expired' },
  PayloadTooLarge: { kind: 'rejected', reason: 'payload-too-large' },
  BadCollapseId: badMessage,
  BadExpirationDate: badMessage,
  BadMessageId: badMessage,
  BadPriority: badMessage,
  DuplicateHeaders: badMessage,
  InvalidPushType: badMessage,
  PayloadEmpty: badMessage,
  MissingDeviceToken: badMessage,
  BadCertificate: credentials(`APNs rejected the certificate: ${credentialFix}`),
  BadCertificateEnvironment: credentials('the certificate is for the other APNs environment: set apns.environment (sandbox or production) to match it'),
  Forbidden: credentials(`APNs refused the request: ${credentialFix}`),
  InvalidProviderToken: credentials(`APNs rejected the signing key: ${credentialFix}; the key id and team id must match the .p8 key`),
  MissingProviderToken: credentials(`no APNs credential was sent: ${credentialFix}`),
  UnrelatedKeyIdInToken: credentials('apns.keyId does not belong to apns.teamId'),
  BadEnvironmentKeyInToken: credentials(environmentFix),
  BadEnvironmentKeyIdInToken: credentials(environmentFix),
  TopicDisallowed: { kind: 'rejected', reason: 'topic-refused', wrongSender: all('this key or certificate may not send to the topic: check apns.topic (the app bundle id)') },
  BadTopic: { kind: 'rejected', reason: 'topic-refused', wrongSender: all('apns.topic is not valid: it is the app bundle id, e.g. com.example.app') },
  MissingTopic: {
    kind: 'fatal',
    reason: 'missing-topic',
    fix: 'APNs answered MissingTopic: set apns.topic (the app bundle id), --apns-topic, or an apns_topic column in the audience',
  },
  BadPath: { kind: 'fatal', reason: 'bad-endpoint', fix: 'the APNs endpoint answered BadPath: check apns.endpoint' },
  MethodNotAllowed: { kind: 'fatal', reason: 'bad-endpoint', fix: 'the APNs endpoint answered MethodNotAllowed: check apns.endpoint' },
  TooManyProviderTokenUpdates: {
    kind: 'fatal',
    reason: 'credentials-renewed-too-often',
    fix: 'APNs answered TooManyProviderTokenUpdates: run fewer pushcast processes with the same key at once',
  },
};

/**
 * A node-apn failure: `{status, response: {reason}}` from APNs, `{status, error}` for the answers
 * it rewrites, `{error}` when no answer came, or a Node error's own fields (`code`) when the
 * stream could not even be opened.
 */
export interface ApnsFailure {
  status?: number | string;
  response?: { reason?: string; timestamp?: number };
  error?: { message?: string } | string;
  code?: string;
}

export function classifyApnsFailure(failure: ApnsFailure, observed?: RequestObservation, environment?: string): Outcome {
  // node-apn puts "(timeout)", "(aborted)" or "(error)" where the status would be when none came.
  const status = /^\d{3}$/.test(String(failure.status)) ? Number(failure.status) : undefined;
  const retryAfterMs = observed?.retryAfterMs;
  const answered = (reason: RetryableReason, detail: string | undefined) =>
    ({ kind: 'retryable', reason, because: 'answered', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(detail ? { detail } : {}) }) as const;
  const message = typeof failure.error === 'object' ? failure.error?.message : failure.error;
  if (status === undefined && observed?.status !== undefined) {
    // An answer node-apn meant to retry (408, 429, 5xx, ExpiredProviderToken) on a session that was closing.
    return answered(
      observed.status === 429 ? 'device-rate-limited' : observed.status === 403 ? 'credentials-expired' : 'unavailable',
      `HTTP ${observed.status}${message ? `: ${message}` : ''}`,
    );
  }
  if (status === undefined) return classifyNoAnswer(failure.error ?? failure, { written: observed?.written, refused: observed?.refused });
  const raw = failure.response?.reason ?? message ?? '';
  const rule = byReason[raw];
  // BadDeviceToken is also what a token of the other environment gets: the detail says where it went.
  const detail =
    raw === 'BadDeviceToken' && environment
      ? `BadDeviceToken: sent to the ${environment} environment; a token from the other environment gets this answer too`
      : raw || `HTTP ${status}`;
  if (rule?.kind === 'fatal') return { kind: 'fatal', reason: rule.reason, fix: rule.fix };
  if (rule?.kind === 'retryable') return answered(rule.reason, detail);
  if (rule) return { kind: rule.kind, reason: rule.reason, detail, ...(rule.wrongSender ? { wrongSender: rule.wrongSender } : {}) } as Outcome;
  if (status >= 500) return answered('unavailable', detail);
  if (status === 429) return answered('device-rate-limited', detail);
  return { kind: 'rejected', reason: 'bad-message', detail };
}
