import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { WrongSender } from '../../src/domain/outcome.js';
import { classifyApnsFailure } from '../../src/providers/apns/classify-apns.js';
import { classifyFcmError } from '../../src/providers/fcm/classify-fcm.js';
import { classifyNoAnswer } from '../../src/providers/http2/no-answer.js';
import { parseRetryAfter } from '../../src/providers/http2/parse-retry-after.js';
import { classifyWebPushResponse } from '../../src/providers/webpush/classify-webpush.js';

/**
 * Each classifier fed the providers' own answers (fixtures/provider-answers/, with where each was
 * captured), table by table: what pushcast makes of a body is pinned to the body itself. The VAPID
 * refusals, which each service words its own way, are in wire.test.ts.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
type Captured = { status: number; body: unknown; headers?: Record<string, string>; endpoint?: string };
const answers = (provider: string): Record<string, Captured> => JSON.parse(readFileSync(join(root, 'fixtures/provider-answers', `${provider}.json`), 'utf8'));

/** firebase-admin's own reading of an HTTP answer into the error it hands back: pushcast classifies what the SDK gives it. */
const require = createRequire(import.meta.url);
const { createFirebaseError } = require(join(dirname(require.resolve('firebase-admin')), 'messaging/messaging-errors-internal.js')) as {
  createFirebaseError(error: { response: { status: number; data: unknown; text: string; isJson(): boolean } }): { code: string; message: string };
};
const fcmAnswer = (answer: Captured) => {
  const error = createFirebaseError({ response: { status: answer.status, data: answer.body, text: JSON.stringify(answer.body), isJson: () => true } });
  return classifyFcmError(error, { retryAfterMs: parseRetryAfter(answer.headers?.['retry-after']) });
};

const many = { when: 'many' };
const all = (fix: string) => ({ fix: expect.stringContaining(fix), when: 'all' });

describe('FCM answers, through firebase-admin, to outcomes', () => {
  const fcm = answers('fcm');
  const table: Array<[string, Record<string, unknown>]> = [
    // pushcast's words for every provider; FCM's own ErrorCode and message stay in the detail.
    ['unregistered', { kind: 'invalid', reason: 'unregistered', detail: 'UNREGISTERED: Requested entity was not found.', wrongSender: many }],
    ['invalid-token', { kind: 'invalid', reason: 'bad-token', detail: 'INVALID_ARGUMENT: The registration token is not a valid FCM registration token', wrongSender: many }],
    // The same status and code as a bad token: only the text tells a bad message apart, and the message is not pruned.
    ['invalid-message', { kind: 'rejected', reason: 'bad-message', detail: expect.stringMatching(/^INVALID_ARGUMENT: Invalid value at 'message.android.ttl'/) }],
    ['sender-id-mismatch', { kind: 'invalid', reason: 'other-sender', detail: 'SENDER_ID_MISMATCH: SenderId mismatch', wrongSender: all('another Firebase project') }],
    ['permission-denied', { kind: 'rejected', reason: 'credentials-refused', detail: expect.stringMatching(/^PERMISSION_DENIED: Permission/), wrongSender: all('fcm.projectId') }],
    ['quota-exceeded', { kind: 'retryable', reason: 'rate-limited', because: 'answered', retryAfterMs: 7000, detail: expect.stringMatching(/^QUOTA_EXCEEDED: /) }],
    ['unavailable', { kind: 'retryable', reason: 'unavailable', because: 'answered', detail: expect.stringMatching(/^UNAVAILABLE: /) }],
    ['internal', { kind: 'retryable', reason: 'unavailable', because: 'answered', detail: expect.stringMatching(/^INTERNAL: /) }],
    [
      'third-party-auth-error',
      { kind: 'rejected', reason: 'third-party-credentials-refused', detail: expect.stringMatching(/^THIRD_PARTY_AUTH_ERROR: /), wrongSender: all('APNs key') },
    ],
    ['unauthenticated', { kind: 'rejected', reason: 'credentials-refused', detail: expect.stringMatching(/^UNAUTHENTICATED: /), wrongSender: all('fcm.serviceAccount') }],
  ];
  it.each(table)('%s', (name, outcome) => {
    expect(fcmAnswer(fcm[name])).toMatchObject(outcome);
  });

  it('covers every captured answer', () => {
    expect(table.map(([name]) => name).sort()).toEqual(
      Object.keys(fcm)
        .filter((name) => !name.startsWith('_'))
        .sort(),
    );
  });
});

describe('APNs answers to outcomes', () => {
  const apns = answers('apns');
  const table: Array<[string, Record<string, unknown>]> = [
    ['Unregistered', { kind: 'invalid', reason: 'unregistered', detail: 'Unregistered', wrongSender: many }],
    [
      'BadDeviceToken',
      { kind: 'invalid', reason: 'bad-token', detail: 'BadDeviceToken', wrongSender: { fix: expect.stringContaining('apns.environment'), when: 'many', otherEnvironment: true } },
    ],
    ['DeviceTokenNotForTopic', { kind: 'invalid', reason: 'other-sender', detail: 'DeviceTokenNotForTopic', wrongSender: all('apns.topic') }],
    ['PayloadTooLarge', { kind: 'rejected', reason: 'payload-too-large', detail: 'PayloadTooLarge' }],
    // Apple's 429 is too many requests for one device token: that device waits, not the campaign.
    ['TooManyRequests', { kind: 'retryable', reason: 'device-rate-limited', because: 'answered', detail: 'TooManyRequests' }],
    ['InternalServerError', { kind: 'retryable', reason: 'unavailable', because: 'answered', detail: 'InternalServerError' }],
    ['ServiceUnavailable', { kind: 'retryable', reason: 'unavailable', because: 'answered', detail: 'ServiceUnavailable' }],
    ['InvalidProviderToken', { kind: 'rejected', reason: 'credentials-refused', detail: 'InvalidProviderToken', wrongSender: all('apns.keyId') }],
    // node-apn renews its signing token on this answer; the request itself was refused, so it goes again.
    ['ExpiredProviderToken', { kind: 'retryable', reason: 'credentials-expired', because: 'answered' }],
    ['TopicDisallowed', { kind: 'rejected', reason: 'topic-refused', detail: 'TopicDisallowed', wrongSender: all('apns.topic') }],
    ['MissingTopic', { kind: 'fatal', reason: 'missing-topic', fix: expect.stringContaining('apns.topic') }],
    ['TooManyProviderTokenUpdates', { kind: 'fatal', reason: 'credentials-renewed-too-often', fix: expect.stringContaining('TooManyProviderTokenUpdates') }],
  ];
  it.each(table)('%s', (name, outcome) => {
    const answer = apns[name];
    expect(classifyApnsFailure({ status: answer.status, response: answer.body as { reason: string } })).toMatchObject(outcome);
  });

  it('covers every captured answer', () => {
    expect(table.map(([name]) => name).sort()).toEqual(
      Object.keys(apns)
        .filter((name) => !name.startsWith('_'))
        .sort(),
    );
  });

  it('says only of BadDeviceToken that a token of the other environment gets it too', () => {
    const marks = Object.entries(apns)
      .filter(([name]) => !name.startsWith('_'))
      .filter(
        ([, answer]) =>
          (classifyApnsFailure({ status: answer.status, response: answer.body as { reason: string } }) as { wrongSender?: WrongSender }).wrongSender?.otherEnvironment,
      );
    expect(marks.map(([name]) => name)).toEqual(['BadDeviceToken']);
  });

  it('takes Retry-After from the transport when node-apn drops it', () => {
    expect(classifyApnsFailure({ status: 429, response: { reason: 'TooManyRequests' } }, { status: 429, retryAfterMs: 3000 } as never)).toMatchObject({ retryAfterMs: 3000 });
  });
});

describe('push service answers to outcomes, each service in its own words', () => {
  const webpush = answers('webpush');
  const table: Array<[string, Record<string, unknown>]> = [
    ['fcm-unsubscribed', { kind: 'invalid', reason: 'unregistered', detail: 'HTTP 410: push subscription has unsubscribed or expired.' }],
    ['mozilla-no-such-subscription', { kind: 'invalid', reason: 'unregistered', detail: expect.stringMatching(/^HTTP 410: .*No such subscription/) }],
    ['mozilla-too-large', { kind: 'rejected', reason: 'payload-too-large', detail: expect.stringMatching(/^HTTP 413: /) }],
    ['apple-unregistered', { kind: 'invalid', reason: 'unregistered', detail: expect.stringMatching(/^HTTP 410: .*Unregistered/) }],
    ['apple-too-many', { kind: 'retryable', reason: 'rate-limited', because: 'answered', retryAfterMs: 30_000 }],
    ['wns-gone', { kind: 'invalid', reason: 'unregistered', detail: 'HTTP 410' }],
    ['wns-throttled', { kind: 'retryable', reason: 'rate-limited', because: 'answered' }],
    ['fcm-unavailable', { kind: 'retryable', reason: 'unavailable', because: 'answered', retryAfterMs: expect.any(Number) }],
  ];
  it.each(table)('%s', (name, outcome) => {
    const answer = webpush[name];
    expect(classifyWebPushResponse(answer.endpoint!, answer.status, answer.headers ?? {}, answer.body as string)).toMatchObject(outcome);
  });

  it('covers every captured answer', () => {
    expect(table.map(([name]) => name).sort()).toEqual(
      Object.keys(webpush)
        .filter((name) => !name.startsWith('_'))
        .sort(),
    );
  });
});

describe('a request with no answer: only what provably never arrived is retryable', () => {
  const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
  const table: Array<[string, unknown, { written?: boolean; refused?: boolean }, Record<string, unknown>]> = [
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443'), {}, { kind: 'retryable', because: 'not-sent' }],
    ['a name that does not resolve', withCode('ENOTFOUND'), {}, { kind: 'retryable', because: 'not-sent' }],
    ['a stream on a session after GOAWAY', withCode('ERR_HTTP2_GOAWAY_SESSION'), {}, { kind: 'retryable', because: 'not-sent' }],
    ['a request never written', withCode('ECONNRESET', 'socket hang up'), { written: false }, { kind: 'retryable', because: 'not-sent' }],
    [
      'a stream refused unread (RFC 9113 §8.7)',
      new Error('Stream closed with error code NGHTTP2_REFUSED_STREAM'),
      {},
      { kind: 'retryable', reason: 'refused-stream', because: 'refused' },
    ],
    ['a reset after the request was written', withCode('ECONNRESET', 'socket hang up'), { written: true }, { kind: 'uncertain', reason: 'no-answer' }],
    ['a timeout', withCode('ETIMEDOUT', 'request timed out'), {}, { kind: 'uncertain', reason: 'timeout' }],
    ['a self-signed certificate', withCode('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), {}, { kind: 'fatal', reason: 'untrusted-certificate' }],
    [
      'a certificate deep in the causes',
      { message: 'request failed', jse_cause: withCode('CERT_HAS_EXPIRED', 'certificate has expired') },
      {},
      { kind: 'fatal', reason: 'untrusted-certificate' },
    ],
  ];
  it.each(table)('%s', (_what, error, context, outcome) => {
    expect(classifyNoAnswer(error, context)).toMatchObject(outcome);
  });
});

describe('an FCM answer firebase-admin could not read (app/unable-to-parse-response)', () => {
  // firebase-admin 13's own message, as it words it, with the status it got.
  const unreadable = (status: number, raw: string) => ({
    code: 'app/unable-to-parse-response',
    message: `Error while parsing response data: "Error: HTTP response missing data.". Raw server response: "${raw}". Status code: "${status}". Outgoing request: POST https://fcm.googleapis.com/v1/projects/p/messages:send.`,
  });
  it.each([
    ['a 200 whose body the connection cut short: accepted, its id lost with the body', unreadable(200, ''), { kind: 'accepted' }],
    ["a proxy's HTML 502: not processed, retried", unreadable(502, '<html>Bad Gateway</html>'), { kind: 'retryable', reason: 'unavailable' }],
  ] as const)('%s', (_what, error, outcome) => {
    expect(classifyFcmError(error)).toEqual(expect.objectContaining(outcome));
  });
});

describe('Retry-After (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it.each([
    ['120', 120_000],
    [' 7 ', 7000],
    ['Mon, 30 Nov 2026 12:00:10 GMT', 10_000],
    ['Mon, 30 Nov 2026 11:00:00 GMT', 0], // in the past: now
    [['3', '9'], 3000], // a repeated header: the first
    [5, 5000],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ] as Array<[string | string[] | number | undefined, number | undefined]>)('%j is %j ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
});
