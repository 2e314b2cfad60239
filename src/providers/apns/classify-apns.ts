import { classifyNoAnswer } from '../no-answer.js';
import type { Outcome, WrongSender } from '../../domain/outcome.js';
import type { RequestObservation } from './observe-requests.js';

/**
 * APNs `reason` strings to outcomes.
 * https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
 * Credential answers (403) and topic answers are marked `wrongSender` (when all): one of them is
 * that recipient's problem (a row with another app's topic); all of them stop the campaign. A
 * large share of dead tokens is marked too (when many): in bulk they say the environment is wrong.
 */
type Rule = { kind: 'invalid' | 'rejected' | 'retryable'; wrongSender?: WrongSender } | { kind: 'fatal'; fix: string };

/** Marks an answer that, given to every recipient, means the sender is wrong. */
const all = (fix: string): WrongSender => ({ fix, when: 'all' });

const credentialFix = 'check apns.key, apns.keyId and apns.teamId (token auth) or apns.cert (certificate auth)';
const environmentFix = 'the .p8 key is not enabled for this APNs environment: check apns.environment';
const otherEnvironment: WrongSender = {
  fix: 'tokens of the other APNs environment (sandbox and production tokens differ) or of another app: check apns.environment, the apns_environment column and the key',
  when: 'many',
  otherEnvironment: true,
};
const byReason: Record<string, Rule> = {
  Unregistered: { kind: 'invalid', wrongSender: { fix: otherEnvironment.fix, when: 'many' } },
  ExpiredToken: { kind: 'invalid' },
  // Also what a sandbox token gets from production and the reverse.
  BadDeviceToken: { kind: 'invalid', wrongSender: otherEnvironment },
  DeviceTokenNotForTopic: { kind: 'invalid', wrongSender: all('every token belongs to another app: set apns.topic to the bundle id the tokens were issued for') },
  TooManyRequests: { kind: 'retryable' },
  InternalServerError: { kind: 'retryable' },
  ServiceUnavailable: { kind: 'retryable' },
  Shutdown: { kind: 'retryable' },
  IdleTimeout: { kind: 'retryable' },
  ExpiredProviderToken: { kind: 'retryable' },
  PayloadTooLarge: { kind: 'rejected' },
  BadCollapseId: { kind: 'rejected' },
  BadExpirationDate: { kind: 'rejected' },
  BadMessageId: { kind: 'rejected' },
  BadPriority: { kind: 'rejected' },
  DuplicateHeaders: { kind: 'rejected' },
  InvalidPushType: { kind: 'rejected' },
  PayloadEmpty: { kind: 'rejected' },
  MissingDeviceToken: { kind: 'rejected' },
  BadCertificate: { kind: 'rejected', wrongSender: all(`APNs rejected the certificate: ${credentialFix}`) },
  BadCertificateEnvironment: { kind: 'rejected', wrongSender: all('the certificate is for the other APNs environment: set apns.environment (sandbox or production) to match it') },
  Forbidden: { kind: 'rejected', wrongSender: all(`APNs refused the request: ${credentialFix}`) },
  InvalidProviderToken: { kind: 'rejected', wrongSender: all(`APNs rejected the signing key: ${credentialFix}; the key id and team id must match the .p8 key`) },
  MissingProviderToken: { kind: 'rejected', wrongSender: all(`no APNs credential was sent: ${credentialFix}`) },
  UnrelatedKeyIdInToken: { kind: 'rejected', wrongSender: all('apns.keyId does not belong to apns.teamId') },
  BadEnvironmentKeyInToken: { kind: 'rejected', wrongSender: all(environmentFix) },
  BadEnvironmentKeyIdInToken: { kind: 'rejected', wrongSender: all(environmentFix) },
  TopicDisallowed: { kind: 'rejected', wrongSender: all('this key or certificate may not send to the topic: check apns.topic (the app bundle id)') },
  BadTopic: { kind: 'rejected', wrongSender: all('apns.topic is not valid: it is the app bundle id, e.g. com.example.app') },
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
  return { kind: 'rejected', reason: reason || `http-${status}` };
}
