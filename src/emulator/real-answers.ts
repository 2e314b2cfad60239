/**
 * Answers the real services give, body for body, where the emulator needs them: each as users
 * have captured it in public bug reports. Tests use these as fixtures of the real wire.
 */

export interface RealAnswer {
  status: number;
  contentType: string;
  body: string;
  /** Where it was captured. */
  source: string;
}

/** FCM HTTP v1, an access token that is missing, expired or revoked (Google APIs' standard 401). */
export const fcmUnauthenticated: RealAnswer = {
  status: 401,
  contentType: 'application/json; charset=UTF-8',
  body: JSON.stringify({
    error: {
      code: 401,
      message:
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      status: 'UNAUTHENTICATED',
    },
  }),
  source: 'https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode',
};

/** FCM HTTP v1, for a token of an iOS or web app whose APNs or VAPID credentials in the Firebase console are refused. */
export const fcmThirdPartyAuthError: RealAnswer = {
  status: 401,
  contentType: 'application/json; charset=UTF-8',
  body: JSON.stringify({
    error: {
      code: 401,
      message: 'Auth error from APNS or Web Push Service',
      status: 'UNAUTHENTICATED',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'THIRD_PARTY_AUTH_ERROR' }],
    },
  }),
  source: 'https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode',
};

/** APNs, a provider token it does not accept. */
export const apnsInvalidProviderToken: RealAnswer = {
  status: 403,
  contentType: 'application/json',
  body: JSON.stringify({ reason: 'InvalidProviderToken' }),
  source: 'https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns',
};

/** Mozilla autopush refuses every VAPID problem alike: 401, errno 109, with what it found in `message`. */
function autopushUnauthorized(message: string): RealAnswer {
  return {
    status: 401,
    contentType: 'application/json',
    body: JSON.stringify({ code: 401, errno: 109, error: 'Unauthorized', more_info: 'http://autopush.readthedocs.io/en/latest/http.html#error-codes', message }),
    source: 'https://github.com/web-push-libs/vapid/issues/66',
  };
}

/** Web push services' answers to a VAPID JWT they refuse, and to a key the subscription was not made with, by service. */
export const webPushRefusals: Record<'fcm' | 'mozilla' | 'apple', { badJwt: RealAnswer; keyMismatch: RealAnswer }> = {
  fcm: {
    badJwt: { status: 403, contentType: 'text/plain; charset=utf-8', body: 'invalid JWT provided\n', source: 'https://github.com/web-push-libs/web-push/issues/679' },
    keyMismatch: {
      status: 403,
      contentType: 'text/plain; charset=utf-8',
      body: 'the key in the authorization header does not correspond to the sender ID used to subscribe this user. Please ensure you are using the correct sender ID and server Key from the Firebase console.\n',
      source: 'https://github.com/web-push-libs/web-push/issues/600',
    },
  },
  mozilla: {
    badJwt: autopushUnauthorized('Request did not validate Invalid bearer token: Auth expired'),
    keyMismatch: autopushUnauthorized('Request did not validate Invalid Authorization Header'),
  },
  apple: {
    badJwt: { status: 403, contentType: 'application/json', body: JSON.stringify({ reason: 'BadJwtToken' }), source: 'https://github.com/web-push-libs/web-push/issues/947' },
    keyMismatch: {
      status: 403,
      contentType: 'application/json',
      body: JSON.stringify({ reason: 'BadJwtToken' }),
      source: 'https://github.com/web-push-libs/web-push-php/issues/406',
    },
  },
};

/** Which push service a web push endpoint's host belongs to, for its way of answering. */
export function webPushService(host: string): 'fcm' | 'mozilla' | 'apple' {
  if (/(^|\.)push\.services\.mozilla\.com(:\d+)?$/.test(host)) return 'mozilla';
  if (/(^|\.)push\.apple\.com(:\d+)?$/.test(host)) return 'apple';
  return 'fcm';
}
