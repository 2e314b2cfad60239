import { classifyNoAnswer, type NoAnswerContext } from '../http2/no-answer.js';
import type { InvalidReason, Outcome, RejectedReason, RetryableReason, WrongSender } from '../../domain/outcome.js';

/** Marks an answer that, given to every recipient, means the sender is wrong. */
const all = (fix: string): WrongSender => ({ fix, when: 'all' });
/** Dead tokens in bulk: likelier tokens of another project or app than so many uninstalls. */
const otherProject: WrongSender = { fix: 'tokens of another Firebase project or app: check fcm.serviceAccount and fcm.projectId', when: 'many' };
const serviceAccountFix = 'FCM refused the access token: check the service account key (fcm.serviceAccount) and fcm.projectId';

/**
 * firebase-admin 13 error codes (`FirebaseMessagingError.code`) to outcomes, in pushcast's words
 * for every provider. The server's FCM v1 ErrorCode (UNREGISTERED, QUOTA_EXCEEDED, …) reaches us
 * already mapped to these codes; `fcm` names it again for the start of `detail`.
 * https://firebase.google.com/docs/cloud-messaging/manage-tokens#detect-invalid-token-responses-from-the-fcm-backend
 * 401 and 403 answers are marked `wrongSender` (when all): they stop the campaign only when every
 * recipient gets them; dead tokens are marked too (when many): in bulk they say the project is wrong.
 */
type Answer = (message: string) => { fcm: string; outcome: Outcome };
const invalid = (fcm: string, reason: InvalidReason, wrongSender?: WrongSender): { fcm: string; outcome: Outcome } => ({
  fcm,
  outcome: { kind: 'invalid', reason, ...(wrongSender ? { wrongSender } : {}) },
});
const rejected = (fcm: string, reason: RejectedReason, wrongSender?: WrongSender): { fcm: string; outcome: Outcome } => ({
  fcm,
  outcome: { kind: 'rejected', reason, ...(wrongSender ? { wrongSender } : {}) },
});
const retryable = (fcm: string, reason: RetryableReason): { fcm: string; outcome: Outcome } => ({ fcm, outcome: { kind: 'retryable', reason, because: 'answered' } });
const byCode: Record<string, Answer> = {
  'messaging/registration-token-not-registered': () => invalid('UNREGISTERED', 'unregistered', otherProject),
  'messaging/invalid-registration-token': () => invalid('INVALID_ARGUMENT', 'bad-token', otherProject),
  // FCM v1 answers INVALID_ARGUMENT both for a malformed token and for a bad message; only the text tells them apart.
  'messaging/invalid-argument': (message) =>
    /not a valid FCM registration token/i.test(message) ? invalid('INVALID_ARGUMENT', 'bad-token', otherProject) : rejected('INVALID_ARGUMENT', 'bad-message'),
  // PERMISSION_DENIED means this service account may not send for the project; SENDER_ID_MISMATCH, a token of another project.
  'messaging/mismatched-credential': (message) =>
    /permission/i.test(message)
      ? rejected('PERMISSION_DENIED', 'credentials-refused', all("the service account may not send messages for this project: check fcm.projectId and the account's roles"))
      : invalid(
          'SENDER_ID_MISMATCH',
          'other-sender',
          all("every token belongs to another Firebase project: use that project's service account (fcm.serviceAccount) or fcm.projectId"),
        ),
  'messaging/invalid-package-name': () => rejected('INVALID_ARGUMENT', 'bad-message'),
  'messaging/message-rate-exceeded': () => retryable('QUOTA_EXCEEDED', 'rate-limited'),
  'messaging/device-message-rate-exceeded': () => retryable('QUOTA_EXCEEDED', 'device-rate-limited'),
  'messaging/topics-message-rate-exceeded': () => retryable('QUOTA_EXCEEDED', 'rate-limited'),
  'messaging/server-unavailable': () => retryable('UNAVAILABLE', 'unavailable'),
  'messaging/internal-error': () => retryable('INTERNAL', 'unavailable'),
  'messaging/unknown-error': () => retryable('UNSPECIFIED_ERROR', 'unavailable'),
  // firebase-admin maps both FCM's own 401 (a bad access token) and THIRD_PARTY_AUTH_ERROR here; the message tells them apart.
  'messaging/third-party-auth-error': (message) =>
    /APNS|Web Push/i.test(message)
      ? rejected(
          'THIRD_PARTY_AUTH_ERROR',
          'third-party-credentials-refused',
          all(
            'FCM could not reach APNs or the web push service for this app: upload a valid APNs key (or web push certificate) in the Firebase console (Project settings > Cloud Messaging)',
          ),
        )
      : rejected('UNAUTHENTICATED', 'credentials-refused', all(serviceAccountFix)),
  'messaging/authentication-error': () => rejected('UNAUTHENTICATED', 'credentials-refused', all(serviceAccountFix)),
  'messaging/invalid-payload': () => rejected('INVALID_ARGUMENT', 'bad-message'),
  'messaging/invalid-options': () => rejected('INVALID_ARGUMENT', 'bad-message'),
  'messaging/invalid-data-payload-key': () => rejected('INVALID_ARGUMENT', 'bad-message'),
  'messaging/payload-size-limit-exceeded': () => rejected('INVALID_ARGUMENT', 'payload-too-large'),
};

/** firebase-admin's codes for a request that got no HTTP answer; its message keeps Node's error code. */
const noAnswerCodes = new Set(['app/network-error', 'app/network-timeout', 'messaging/app/network-error']);

/**
 * firebase-admin's code for an answer whose body it could not read (an HTML page from a proxy, or
 * a body the connection cut short); its message keeps the status: `Status code: "200"`.
 */
const unreadableAnswer = 'app/unable-to-parse-response';

export function classifyFcmError(error: { code?: string; message?: string } | undefined, context: NoAnswerContext & { retryAfterMs?: number } = {}): Outcome {
  const code = error?.code ?? 'messaging/unknown-error';
  const message = error?.message ?? '';
  if (noAnswerCodes.has(code)) return classifyNoAnswer(error, context);
  // A 2xx is FCM's word that it took the message, whatever became of the rest of the answer: sent
  // again, it would be delivered twice. Only its id is lost with the body.
  if (code === unreadableAnswer && /Status code: "2\d\d"/.test(message)) return { kind: 'accepted' };
  if (code === 'app/invalid-credential') {
    return { kind: 'fatal', reason: 'credentials-unusable', fix: 'the service account key could not be used: check fcm.serviceAccount or GOOGLE_APPLICATION_CREDENTIALS' };
  }
  const { fcm, outcome } = (byCode[code] ?? byCode['messaging/unknown-error'])(message);
  const detail = message ? `${fcm}: ${message}` : fcm;
  if (outcome.kind === 'retryable') return { ...outcome, detail, ...(context.retryAfterMs !== undefined ? { retryAfterMs: context.retryAfterMs } : {}) };
  if (outcome.kind === 'invalid' || outcome.kind === 'rejected') return { ...outcome, detail };
  return outcome;
}
