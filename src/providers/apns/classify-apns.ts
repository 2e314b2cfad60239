import { refusedStream } from '../fcm/classify-fcm.js';
import type { Outcome } from '../provider.js';

/**
 * APNs `reason` strings to outcomes.
 * https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
 */
type Rule = { kind: 'invalid-token' | 'rejected-message' | 'retryable' } | { kind: 'fatal'; fix: string };

const credentialFix = 'check apns.key, apns.keyId and apns.teamId (token auth) or apns.cert (certificate auth)';
const byReason: Record<string, Rule> = {
  Unregistered: { kind: 'invalid-token' },
  ExpiredToken: { kind: 'invalid-token' },
  // Also what a sandbox token gets from production and the reverse: see the report's note on environments.
  BadDeviceToken: { kind: 'invalid-token' },
  DeviceTokenNotForTopic: { kind: 'invalid-token' },
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
  BadCertificate: { kind: 'fatal', fix: `APNs rejected the certificate: ${credentialFix}` },
  BadCertificateEnvironment: { kind: 'fatal', fix: 'the certificate is for the other APNs environment: set apns.environment (sandbox or production) to match it' },
  Forbidden: { kind: 'fatal', fix: `APNs refused the request: ${credentialFix}` },
  InvalidProviderToken: { kind: 'fatal', fix: `APNs rejected the signing key: ${credentialFix}; the key id and team id must match the .p8 key` },
  MissingProviderToken: { kind: 'fatal', fix: `no APNs credential was sent: ${credentialFix}` },
  UnrelatedKeyIdInToken: { kind: 'fatal', fix: 'apns.keyId does not belong to apns.teamId' },
  BadEnvironmentKeyInToken: { kind: 'fatal', fix: 'the .p8 key is not enabled for this APNs environment: check apns.environment' },
  BadEnvironmentKeyIdInToken: { kind: 'fatal', fix: 'the .p8 key is not enabled for this APNs environment: check apns.environment' },
  TopicDisallowed: { kind: 'fatal', fix: 'this key or certificate may not send to the topic: check apns.topic (the app bundle id)' },
  MissingTopic: { kind: 'fatal', fix: 'set apns.topic (the app bundle id) or an apns_topic column in the audience' },
  BadTopic: { kind: 'fatal', fix: 'apns.topic is not valid: it is the app bundle id, e.g. com.example.app' },
  BadPath: { kind: 'fatal', fix: 'the APNs endpoint answered BadPath: check apns.endpoint' },
  MethodNotAllowed: { kind: 'fatal', fix: 'the APNs endpoint answered MethodNotAllowed: check apns.endpoint' },
  TooManyProviderTokenUpdates: { kind: 'fatal', fix: 'the signing token was renewed too often: run fewer pushcast processes with the same key at once' },
};

/** A node-apn failure: `{status, response: {reason}}` from APNs, or `{error}` when no answer came. */
export interface ApnsFailure {
  status?: number | string;
  response?: { reason?: string; timestamp?: number };
  error?: { message?: string } | string;
}

export function classifyApnsFailure(failure: ApnsFailure, retryAfterMs?: number): Outcome {
  const status = failure.status === undefined ? undefined : Number(failure.status);
  const reason = failure.response?.reason ?? (typeof failure.error === 'object' ? failure.error?.message : failure.error) ?? '';
  const rule = byReason[reason];
  if (rule?.kind === 'fatal') return { kind: 'fatal', reason, fix: rule.fix };
  if (rule) return withRetryAfter({ kind: rule.kind, reason }, retryAfterMs);
  if (status !== undefined && status >= 500) return withRetryAfter({ kind: 'retryable', reason: `http-${status}`, detail: reason }, retryAfterMs);
  if (status === 429) return withRetryAfter({ kind: 'retryable', reason: 'TooManyRequests', detail: reason }, retryAfterMs);
  if (status !== undefined && status >= 400) return { kind: 'rejected-message', reason: reason || `http-${status}` };
  if (refusedStream.test(reason)) return { kind: 'retryable', reason: 'refused-stream', detail: reason, unprocessed: true };
  // No answer: a timeout, a reset or a closed session. The push may or may not have gone out.
  return { kind: 'retryable', reason: 'network-error', detail: reason };
}

function withRetryAfter(outcome: Outcome & { kind: 'invalid-token' | 'rejected-message' | 'retryable' }, retryAfterMs: number | undefined): Outcome {
  return outcome.kind === 'retryable' && retryAfterMs !== undefined ? { ...outcome, retryAfterMs } : outcome;
}
