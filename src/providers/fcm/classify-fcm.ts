import { classifyNoAnswer, type NoAnswerContext } from '../no-answer.js';
import type { Outcome, WrongSender } from '../../domain/outcome.js';

/** Marks an answer that, given to every recipient, means the sender is wrong. */
const all = (fix: string): WrongSender => ({ fix, when: 'all' });
/** Dead tokens in bulk: likelier tokens of another project or app than so many uninstalls. */
const otherProject: WrongSender = { fix: 'tokens of another Firebase project or app: check fcm.serviceAccount and fcm.projectId', when: 'many' };
const serviceAccountFix = 'FCM refused the access token: check the service account key (fcm.serviceAccount) and fcm.projectId';

/**
 * firebase-admin 13 error codes (`FirebaseMessagingError.code`) to outcomes. The server's FCM v1
 * status (UNREGISTERED, QUOTA_EXCEEDED, …) reaches us already mapped to these codes.
 * https://firebase.google.com/docs/cloud-messaging/manage-tokens#detect-invalid-token-responses-from-the-fcm-backend
 * 401 and 403 answers are marked `wrongSender` (when all): they stop the campaign only when every
 * recipient gets them; dead tokens are marked too (when many): in bulk they say the project is wrong.
 */
const byCode: Record<string, (message: string) => Outcome> = {
  'messaging/registration-token-not-registered': () => ({ kind: 'invalid', reason: 'unregistered', wrongSender: otherProject }),
  'messaging/invalid-registration-token': () => ({ kind: 'invalid', reason: 'invalid-registration-token', wrongSender: otherProject }),
  // FCM v1 answers INVALID_ARGUMENT both for a malformed token and for a bad message; only the text tells them apart.
  'messaging/invalid-argument': (message) =>
    /not a valid FCM registration token/i.test(message)
      ? { kind: 'invalid', reason: 'invalid-registration-token', wrongSender: otherProject }
      : { kind: 'rejected', reason: 'invalid-argument' },
  // PERMISSION_DENIED means this service account may not send for the project; SENDER_ID_MISMATCH, a token of another project.
  'messaging/mismatched-credential': (message) =>
    /permission/i.test(message)
      ? {
          kind: 'rejected',
          reason: 'permission-denied',
          wrongSender: all("the service account may not send messages for this project: check fcm.projectId and the account's roles"),
        }
      : {
          kind: 'invalid',
          reason: 'sender-id-mismatch',
          wrongSender: all("every token belongs to another Firebase project: use that project's service account (fcm.serviceAccount) or fcm.projectId"),
        },
  'messaging/invalid-package-name': () => ({ kind: 'rejected', reason: 'invalid-package-name' }),
  'messaging/message-rate-exceeded': () => ({ kind: 'retryable', reason: 'quota-exceeded', because: 'answered' }),
  'messaging/device-message-rate-exceeded': () => ({ kind: 'retryable', reason: 'device-rate-exceeded', because: 'answered' }),
  'messaging/topics-message-rate-exceeded': () => ({ kind: 'retryable', reason: 'topic-rate-exceeded', because: 'answered' }),
  'messaging/server-unavailable': () => ({ kind: 'retryable', reason: 'unavailable', because: 'answered' }),
  'messaging/internal-error': () => ({ kind: 'retryable', reason: 'internal-error', because: 'answered' }),
  'messaging/unknown-error': () => ({ kind: 'retryable', reason: 'unknown-error', because: 'answered' }),
  // firebase-admin maps both FCM's own 401 (a bad access token) and THIRD_PARTY_AUTH_ERROR here; the message tells them apart.
  'messaging/third-party-auth-error': (message) =>
    /APNS|Web Push/i.test(message)
      ? {
          kind: 'rejected',
          reason: 'third-party-auth-error',
          wrongSender: all(
            'FCM could not reach APNs or the web push service for this app: upload a valid APNs key (or web push certificate) in the Firebase console (Project settings > Cloud Messaging)',
          ),
        }
      : { kind: 'rejected', reason: 'unauthenticated', wrongSender: all(serviceAccountFix) },
  'messaging/authentication-error': () => ({ kind: 'rejected', reason: 'authentication-error', wrongSender: all(serviceAccountFix) }),
  'app/invalid-credential': () => ({
    kind: 'fatal',
    reason: 'invalid-credential',
    fix: 'the service account key could not be used: check fcm.serviceAccount or GOOGLE_APPLICATION_CREDENTIALS',
  }),
  'messaging/invalid-payload': () => ({ kind: 'rejected', reason: 'invalid-payload' }),
  'messaging/invalid-options': () => ({ kind: 'rejected', reason: 'invalid-options' }),
  'messaging/invalid-data-payload-key': () => ({ kind: 'rejected', reason: 'invalid-data-payload-key' }),
  'messaging/payload-size-limit-exceeded': () => ({ kind: 'rejected', reason: 'payload-too-large' }),
};

/** firebase-admin's codes for a request that got no HTTP answer; its message keeps Node's error code. */
const noAnswerCodes = new Set(['app/network-error', 'app/network-timeout', 'messaging/app/network-error']);

export function classifyFcmError(error: { code?: string; message?: string } | undefined, context: NoAnswerContext & { retryAfterMs?: number } = {}): Outcome {
  const code = error?.code ?? 'messaging/unknown-error';
  const message = error?.message ?? '';
  if (noAnswerCodes.has(code)) return classifyNoAnswer(error, context);
  const outcome = (byCode[code] ?? byCode['messaging/unknown-error'])(message);
  if (outcome.kind === 'retryable') return { ...outcome, detail: message, ...(context.retryAfterMs !== undefined ? { retryAfterMs: context.retryAfterMs } : {}) };
  if (outcome.kind === 'invalid' || outcome.kind === 'rejected') return { ...outcome, detail: message };
  return outcome;
}
