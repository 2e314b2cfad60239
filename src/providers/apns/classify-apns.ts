import { classifyNoAnswer } from '../no-answer.js';
import type { Outcome } from '../provider.js';
import type { RequestObservation } from './observe-requests.js';

/**
 * APNs `reason` strings to outcomes.
 * https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
 * Credential answers (403) and topic answers are marked `wrongSender`: one of them is that
 * recipient's problem (a row with another app's topic); all of them stop the campaign.
 */
type Rule = { kind: 'invalid-token' | 'rejected-message' | 'retryable'; wrongSender?: string } | { kind: 'fatal'; fix: string };

const credentialFix = 'check apns.key, apns.keyId and apns.teamId (token auth) or apns.cert (certificate auth)';
const environmentFix = 'the .p8 key is not enabled for this APNs environment: check apns.environment';
const byReason: Record<string, Rule> = {
  Unregistered: { kind: 'invalid-token' },
  ExpiredToken: { kind: 'invalid-token' },
  // Also what a sandbox token gets from production and the reverse: see the report's note on environments.
  BadDeviceToken: { kind: 'invalid-token' },
  DeviceTokenNotForTopic: { kind: 'invalid-token', wrongSender: 'every token belongs to another app: set apns.topic to the bundle id the tokens were issued for' },
  TooManyRequests: { kind: 'retryable' },
  InternalServerError: { kind: 'retryable' },
  ServiceUnavailable: { kind: 'retryable' },
  Shutdown: { kind: 'retryable' },
  IdleTimeout: { kind: 'retryable' },
  ExpiredProviderToken: { kind: 'retryable' },
  PayloadTooLarge: { kind: 'rejected-message' },
  BadCollapseId: { kind: 'rejected-message' },
  BadExpirationDate: { kind: 'rejected-message' },
  BadMessageId: { kind: 'rejected-message' },
  BadPriority: { kind: 'rejected-message' },
  DuplicateHeaders: { kind: 'rejected-message' },
  InvalidPushType: { kind: 'rejected-message' },
  PayloadEmpty: { kind: 'rejected-message' },
  MissingDeviceToken: { kind: 'rejected-message' },
  BadCertificate: { kind: 'rejected-message', wrongSender: `APNs rejected the certificate: ${credentialFix}` },
  BadCertificateEnvironment: { kind: 'rejected-message', wrongSender: 'the certificate is for the other APNs environment: set apns.environment (sandbox or production) to match it' },
  Forbidden: { kind: 'rejected-message', wrongSender: `APNs refused the request: ${credentialFix}` },
  InvalidProviderToken: { kind: 'rejected-message', wrongSender: `APNs rejected the signing key: ${credentialFix}; the key id and team id must match the .p8 key` },
  MissingProviderToken: { kind: 'rejected-message', wrongSender: `no APNs credential was sent: ${credentialFix}` },
  UnrelatedKeyIdInToken: { kind: 'rejected-message', wrongSender: 'apns.keyId does not belong to apns.teamId' },
  BadEnvironmentKeyInToken: { kind: 'rejected-message', wrongSender: environmentFix },
  BadEnvironmentKeyIdInToken: { kind: 'rejected-message', wrongSender: environmentFix },
  TopicDisallowed: { kind: 'rejected-message', wrongSender: 'this key or certificate may not send to the topic: check apns.topic (the app bundle id)' },
  BadTopic: { kind: 'rejected-message', wrongSender: 'apns.topic is not valid: it is the app bundle id, e.g. com.example.app' },
  MissingTopic: { kind: 'fatal', fix: 'set apns.topic (the app bundle id) or an apns_topic column in the audience' },
  BadPath: { kind: 'fatal', fix: 'the APNs endpoint answered BadPath: check apns.endpoint' },
  MethodNotAllowed: { kind: 'fatal', fix: 'the APNs endpoint answered MethodNotAllowed: check apns.endpoint' },
  TooManyProviderTokenUpdates: { kind: 'fatal', fix: 'the signing token was renewed too often: run fewer pushcast processes with the same key at once' },
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

export function classifyApnsFailure(failure: ApnsFailure, observed?: RequestObservation): Outcome {
  // node-apn puts "(timeout)", "(aborted)" or "(error)" where the status would be when none came.
  const status = /^\d{3}$/.test(String(failure.status)) ? Number(failure.status) : undefined;
  const retryAfterMs = observed?.retryAfterMs;
  const answered = (kind: string) => ({ kind: 'retryable', reason: kind, because: 'answered', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }) as const;
  if (status === undefined && observed?.status !== undefined) {
    // An answer node-apn meant to retry (408, 429, 5xx, ExpiredProviderToken) on a session that was closing.
    return { ...answered(`http-${observed.status}`), detail: typeof failure.error === 'object' ? failure.error?.message : failure.error };
  }
  if (status === undefined) return classifyNoAnswer(failure.error ?? failure, { written: observed?.written, refused: observed?.refused });
  const reason = failure.response?.reason ?? (typeof failure.error === 'object' ? failure.error?.message : failure.error) ?? '';
  const rule = byReason[reason];
  if (rule?.kind === 'fatal') return { kind: 'fatal', reason, fix: rule.fix };
  if (rule?.kind === 'retryable') return answered(reason);
  if (rule) return { kind: rule.kind, reason, ...(rule.wrongSender ? { wrongSender: rule.wrongSender } : {}) };
  if (status >= 500) return { ...answered(`http-${status}`), detail: reason || undefined };
  if (status === 429) return { ...answered('TooManyRequests'), detail: reason || undefined };
  return { kind: 'rejected-message', reason: reason || `http-${status}` };
}
