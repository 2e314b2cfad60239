import { createPrivateKey, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { bytesOf } from './emulated.js';
import { compact, dropConnection, retryAfterHeader, sendJson, sendRealAnswer, type EmulatorContext, type Exchange } from './exchange.js';
import { handleFcmTopicSend } from './handle-fcm-topics.js';
import { fcmThirdPartyAuthError, fcmUnauthenticated, type RealAnswer } from './real-answers.js';
import { verifyJwt } from './verify-jwt.js';

const grpcStatus: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** FCM HTTP v1's error body, with the FcmError detail firebase-admin maps to its error codes. */
function fcmError(exchange: Exchange, status: number, errorCode: string | undefined, message: string, headers: Record<string, string> = {}): void {
  sendJson(
    exchange,
    status,
    {
      error: {
        code: status,
        message,
        status: grpcStatus[status] ?? 'UNKNOWN',
        ...(errorCode ? { details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] } : {}),
      },
    },
    headers,
  );
}

/** Answers whose real bodies the emulator has, by the reason a forced answer names. */
const realAnswers: Record<string, RealAnswer> = { THIRD_PARTY_AUTH_ERROR: fcmThirdPartyAuthError, UNAUTHENTICATED: fcmUnauthenticated };

const sendPath = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const fcmTokenPattern = /^[A-Za-z0-9_\-:.]{20,}$/;

/** POST /v1/projects/{project}/messages:send, as https://fcm.googleapis.com answers it. */
export function handleFcmSend(context: EmulatorContext, exchange: Exchange): void {
  const { state } = context;
  let token = '';
  const fail = (status: number, errorCode: string | undefined, message: string, headers: Record<string, string> = {}) => {
    state.reject('fcm', errorCode ?? grpcStatus[status] ?? String(status), token, status);
    fcmError(exchange, status, errorCode, message, headers);
  };
  const project = sendPath.exec(exchange.path)?.[1];
  if (!project || exchange.req.method !== 'POST') return fail(404, undefined, 'Not found');
  const bearer = /^Bearer (.+)$/.exec(String(exchange.req.headers.authorization ?? ''))?.[1];
  if (!bearer || !context.accessTokens.has(bearer)) {
    state.reject('fcm', 'UNAUTHENTICATED', token, 401);
    return sendRealAnswer(exchange, fcmUnauthenticated);
  }
  if (project !== context.credentials.serviceAccount.project_id) {
    return fail(
      403,
      undefined,
      `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`,
    );
  }
  let request: { message?: Record<string, unknown>; validate_only?: boolean };
  try {
    request = JSON.parse(exchange.body.toString('utf8')) as typeof request;
  } catch {
    return fail(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
  }
  const message = request.message ?? {};
  if (message.topic !== undefined || message.condition !== undefined) return handleFcmTopicSend(context, exchange, project, message, fail);
  token = typeof message.token === 'string' ? message.token : '';
  if (!token) return fail(400, 'INVALID_ARGUMENT', 'Recipient of the message is not set.');
  if (!fcmTokenPattern.test(token)) return fail(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token');
  const size = largestPlatformPayload(message);
  if (size > 4096) return fail(400, 'INVALID_ARGUMENT', `Message is too big: ${size} bytes for one platform, the limit is 4096.`);

  const { fate, attempt } = state.fate('fcm', token);
  if (fate === 'drop') {
    state.drop('fcm', token);
    return dropConnection(context, exchange);
  }
  const retryAfter = retryAfterHeader(state.behaviour.retryAfterSeconds);
  const bodyCut = typeof fate === 'object' && fate.forced.reason === bodyCutReason;
  if (typeof fate === 'object' && !bodyCut) {
    const real = realAnswers[fate.forced.reason];
    if (real) {
      state.reject('fcm', fate.forced.reason, token, real.status);
      return sendRealAnswer(exchange, real);
    }
    return fail(fate.forced.status, fate.forced.reason, `Emulated ${fate.forced.reason}.`, retryAfterHeader(fate.forced.retryAfterSeconds));
  }
  switch (fate) {
    case 'unregistered':
    case 'bad-device-token':
      return fail(404, 'UNREGISTERED', 'Requested entity was not found.');
    case 'unauthorized':
      state.reject('fcm', 'THIRD_PARTY_AUTH_ERROR', token, 401);
      return sendRealAnswer(exchange, realAnswers.THIRD_PARTY_AUTH_ERROR);
    case 'late':
      exchange.delayMs += state.behaviour.lateMs;
      break;
    case 'too-many-requests':
      return fail(429, 'QUOTA_EXCEEDED', "Quota exceeded for quota metric 'Send requests'.", retryAfter);
    case 'unavailable':
      return fail(503, 'UNAVAILABLE', 'The service is currently unavailable.', retryAfter);
  }
  const id = `projects/${project}/messages/0:${Date.now()}%${randomUUID().slice(0, 8)}`;
  if (request.validate_only) {
    state.stats.validated++;
    state.noteAttempt('fcm', token, 200, 'validate_only');
  } else {
    const android = (message.android ?? {}) as Record<string, unknown>;
    const apnsHeaders = ((message.apns as { headers?: Record<string, string> } | undefined)?.headers ?? {}) as Record<string, string>;
    const webpushHeaders = ((message.webpush as { headers?: Record<string, string> } | undefined)?.headers ?? {}) as Record<string, string>;
    state.accept({
      provider: 'fcm',
      token,
      attempt,
      headers: compact({
        collapse_key: android.collapse_key as string | undefined,
        ttl: android.ttl as string | undefined,
        priority: android.priority as string | undefined,
        'apns-collapse-id': apnsHeaders['apns-collapse-id'],
        'apns-push-type': apnsHeaders['apns-push-type'],
        'apns-expiration': apnsHeaders['apns-expiration'],
        Topic: webpushHeaders.Topic,
        Urgency: webpushHeaders.Urgency,
      }),
      message,
    });
  }
  if (bodyCut) return answerCutShort(context, exchange, JSON.stringify({ name: id }));
  sendJson(exchange, 200, { name: id });
}

/**
 * A forced answer's reason for a message FCM accepts and whose answer never arrives whole: its
 * status and the start of its body, then the connection ends (a load balancer's idle cut, a
 * deploy). The message was processed: a client that sends it again delivers it twice.
 */
export const bodyCutReason = 'BODY_CUT';

function answerCutShort(context: EmulatorContext, exchange: Exchange, body: string): void {
  const { res } = exchange;
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  // Once the start of the body is on its way, the connection ends (FIN, not a reset, so that what was written arrives).
  res.write(body.slice(0, 5), () => context.cutConnection(exchange, 'end'));
}

/** What one platform would get from a message (Android, the APNs JSON, the web), overrides included: FCM's limit is per delivery. */
function largestPlatformPayload(message: Record<string, unknown>): number {
  const block = (name: string) => (message[name] ?? {}) as Record<string, unknown>;
  const sizes = [
    { notification: message.notification, android: block('android').notification, data: block('android').data ?? message.data },
    { notification: message.notification, payload: block('apns').payload, data: message.data },
    { notification: message.notification, webpush: block('webpush').notification, data: block('webpush').data ?? message.data },
  ].map((delivered) => bytesOf(JSON.stringify(delivered)));
  return Math.max(...sizes);
}

/** POST /token: the OAuth 2.0 JWT-bearer grant a service account key file's token_uri names. */
export function handleOAuthToken(context: EmulatorContext, exchange: Exchange): void {
  const form = new URLSearchParams(exchange.body.toString('utf8'));
  const deny = (description: string) => sendJson(exchange, 400, { error: 'invalid_grant', error_description: description });
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return sendJson(exchange, 400, { error: 'unsupported_grant_type' });
  const account = context.credentials.serviceAccount;
  const verified = verifyJwt(form.get('assertion') ?? '', createPublicKey(createPrivateKey(account.private_key)), 'RS256');
  if ('error' in verified) return deny('Invalid JWT Signature.');
  const now = Date.now() / 1000;
  const { iss, aud, exp } = verified.claims;
  if (iss !== account.client_email) return deny('Invalid grant: account not found');
  if (aud !== account.token_uri) return deny(`Invalid JWT: aud must be ${account.token_uri}`);
  if (typeof exp !== 'number' || exp < now) return deny('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
  const accessToken = `ya29.emulator-${randomBytes(18).toString('base64url')}`;
  context.accessTokens.add(accessToken);
  context.state.stats.oauthTokensIssued++;
  sendJson(exchange, 200, { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' });
}
