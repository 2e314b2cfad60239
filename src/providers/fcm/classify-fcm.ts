import type { Outcome } from '../provider.js';

/**
 * firebase-admin 13 error codes (`FirebaseMessagingError.code`) to outcomes. The server's FCM v1
 * status (UNREGISTERED, QUOTA_EXCEEDED, …) reaches us already mapped to these codes.
 * https://firebase.google.com/docs/cloud-messaging/manage-tokens#detect-invalid-token-responses-from-the-fcm-backend
 */
const byCode: Record<string, (message: string) => Outcome> = {
  'messaging/registration-token-not-registered': () => ({ kind: 'invalid-token', reason: 'unregistered' }),
  'messaging/invalid-registration-token': () => ({ kind: 'invalid-token', reason: 'invalid-registration-token' }),
  // FCM v1 answers INVALID_ARGUMENT both for a malformed token and for a bad message; only the text tells them apart.
  'messaging/invalid-argument': (message) =>
    /not a valid FCM registration token/i.test(message)
      ? { kind: 'invalid-token', reason: 'invalid-registration-token' }
      : { kind: 'rejected-message', reason: 'invalid-argument' },
  // PERMISSION_DENIED means this service account may not send for the project; SENDER_ID_MISMATCH, a token of another project.
  'messaging/mismatched-credential': (message) =>
    /permission/i.test(message)
      ? { kind: 'fatal', reason: 'permission-denied', fix: 'the service account may not send messages for this project: check fcm.projectId and the account\'s roles' }
      : { kind: 'invalid-token', reason: 'sender-id-mismatch' },
  'messaging/invalid-package-name': () => ({ kind: 'rejected-message', reason: 'invalid-package-name' }),
  'messaging/message-rate-exceeded': () => ({ kind: 'retryable', reason: 'quota-exceeded' }),
  'messaging/device-message-rate-exceeded': () => ({ kind: 'retryable', reason: 'device-rate-exceeded' }),
  'messaging/topics-message-rate-exceeded': () => ({ kind: 'retryable', reason: 'topic-rate-exceeded' }),
  'messaging/server-unavailable': () => ({ kind: 'retryable', reason: 'unavailable' }),
  'messaging/internal-error': () => ({ kind: 'retryable', reason: 'internal-error' }),
  'messaging/unknown-error': () => ({ kind: 'retryable', reason: 'unknown-error' }),
  'app/network-error': () => ({ kind: 'retryable', reason: 'network-error' }),
  'app/network-timeout': () => ({ kind: 'retryable', reason: 'timeout' }),
  'messaging/app/network-error': () => ({ kind: 'retryable', reason: 'network-error' }),
  'messaging/third-party-auth-error': () => ({
    kind: 'fatal',
    reason: 'third-party-auth-error',
    fix: 'FCM could not reach APNs for this iOS app: upload a valid APNs key or certificate in the Firebase console (Project settings > Cloud Messaging)',
  }),
  'messaging/authentication-error': () => ({ kind: 'fatal', reason: 'authentication-error', fix: 'FCM rejected the access token: check the service account key and fcm.projectId' }),
  'app/invalid-credential': () => ({ kind: 'fatal', reason: 'invalid-credential', fix: 'the service account key could not be used: check fcm.serviceAccount or GOOGLE_APPLICATION_CREDENTIALS' }),
  'messaging/invalid-payload': () => ({ kind: 'rejected-message', reason: 'invalid-payload' }),
  'messaging/invalid-options': () => ({ kind: 'rejected-message', reason: 'invalid-options' }),
  'messaging/invalid-data-payload-key': () => ({ kind: 'rejected-message', reason: 'invalid-data-payload-key' }),
  'messaging/payload-size-limit-exceeded': () => ({ kind: 'rejected-message', reason: 'payload-too-large' }),
};

/** A stream the server refused (after its GOAWAY): RFC 9113 §8.7 guarantees it was not processed. */
export const refusedStream = /NGHTTP2_REFUSED_STREAM/;

export function classifyFcmError(error: { code?: string; message?: string } | undefined, retryAfterMs?: number): Outcome {
  const code = error?.code ?? 'messaging/unknown-error';
  const message = error?.message ?? '';
  if (refusedStream.test(message)) return { kind: 'retryable', reason: 'refused-stream', detail: message, unprocessed: true };
  const outcome = (byCode[code] ?? byCode['messaging/unknown-error'])(message);
  if (outcome.kind === 'retryable') return { ...outcome, detail: message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (outcome.kind === 'invalid-token' || outcome.kind === 'rejected-message') return { ...outcome, detail: message };
  return outcome;
}
