import type { ConditionMessage, TokenMessage, TopicMessage } from 'firebase-admin/messaging';
import type { DeviceRecipient } from '../../domain/recipient.js';
import type { RenderedMessage } from '../../message/compile-template.js';
import { apnsCollapseId, limits, tooLarge, utf8Bytes, webPushTopic } from '../../message/limits.js';
import { definedFields, dropUndefined, mergeFields } from '../../message/merge-fields.js';
import type { BuildContext, BuildResult } from '../provider.js';

/** What firebase-admin receives for one token, and how long the message may wait (apns-expiration is set from it per request). */
export interface FcmPayload {
  message: TokenMessage;
  ttlSeconds?: number;
}

/**
 * The firebase-admin `Message` for one token. One message serves Android, iOS-through-FCM and
 * web apps on FCM, so it carries an `android`, an `apns` and a `webpush` block; FCM uses the one
 * that matches the token's platform. `group` replaces (collapse_key and the Android tag, the APNs
 * collapse id, the web Topic and tag); `thread` groups, which only iOS does (thread-id).
 */
export function buildFcmPayload(message: RenderedMessage, recipient: DeviceRecipient, context: BuildContext): BuildResult<FcmPayload> {
  const payload = fcmMessage(message, { token: recipient.token }, context) as unknown as TokenMessage;
  const bytes = surelyFits(payload) ? 0 : fcmPayloadBytes(payload);
  if (bytes > limits.fcmPayloadBytes) {
    return { ok: false, reason: 'payload-too-large', detail: tooLarge('FCM payload (the largest one platform gets, overrides included)', bytes, limits.fcmPayloadBytes) };
  }
  return { ok: true, payload: definedFields({ message: payload, ttlSeconds: message.ttlSeconds }) };
}

/** Where one FCM message goes: a device, every device subscribed to a topic, or those whose topics meet a condition. */
type FcmTarget = { token: string } | { topic: string } | { condition: string };

/** "FCM's limit is 4096 B, or 2048 B for topics" (firebase-admin's payload-size-limit-exceeded; shared/notes/provider-clients.md). */
export const fcmTopicPayloadBytes = 2048;

/**
 * The message of a topic or condition send: rendered once for every device, its APNs expiry set
 * now, within FCM's smaller limit for topic messages.
 */
export function buildFcmBroadcast(
  message: RenderedMessage,
  target: { topic: string } | { condition: string },
  context: BuildContext,
): BuildResult<TopicMessage | ConditionMessage> {
  const built = fcmMessage(message, target, context) as unknown as TopicMessage | ConditionMessage;
  const bytes = fcmPayloadBytes(built);
  if (bytes > fcmTopicPayloadBytes) {
    return { ok: false, reason: 'payload-too-large', detail: tooLarge('FCM topic payload (the largest one platform gets, overrides included)', bytes, fcmTopicPayloadBytes) };
  }
  const payload = withApnsExpiration({ message: built as unknown as TokenMessage, ttlSeconds: message.ttlSeconds }, Math.floor(Date.now() / 1000));
  return { ok: true, payload: payload as unknown as TopicMessage | ConditionMessage };
}

/** The firebase-admin `Message` of a rendered message, to one target, the template's raw `fcm` overrides merged in. */
function fcmMessage(message: RenderedMessage, target: FcmTarget, context: BuildContext): Record<string, unknown> {
  const visible = message.kind === 'notification';
  const data = message.link ? { ...message.data, link: message.link } : message.data;
  const notification = visible ? { title: message.title, body: message.body, imageUrl: message.image } : undefined;
  const { group, ttlSeconds: ttl } = message;

  const built = dropUndefined({
    ...target,
    fcmOptions: context.fcmAnalyticsLabel === undefined ? undefined : { analyticsLabel: context.fcmAnalyticsLabel },
    notification,
    data,
    android: {
      collapseKey: group,
      priority: message.priority,
      ttl: ttl === undefined ? undefined : ttl * 1000, // firebase-admin takes milliseconds
      notification: visible ? { tag: group, sound: message.sound } : undefined,
    },
    apns: {
      // apns-expiration is absolute: set per request, when the message goes (withApnsExpiration).
      headers: {
        'apns-push-type': visible ? 'alert' : 'background',
        'apns-priority': !visible || message.priority === 'normal' ? '5' : '10',
        'apns-collapse-id': group === undefined ? undefined : apnsCollapseId(group),
      },
      payload: {
        // Apple: a background notification's aps holds content-available and nothing else.
        aps: visible ? { threadId: message.thread, badge: message.badge, sound: message.sound, mutableContent: message.image ? true : undefined } : { contentAvailable: true },
      },
    },
    webpush: {
      headers: {
        TTL: ttl === undefined ? undefined : String(ttl),
        Urgency: message.urgency ?? (message.priority === 'high' ? 'high' : undefined),
        Topic: group === undefined ? undefined : webPushTopic(group),
      },
      notification: visible ? { tag: group } : undefined,
      fcmOptions: message.link?.startsWith('https://') ? { link: message.link } : undefined,
    },
  });
  return mergeFields(built as unknown as Record<string, unknown>, message.fcm);
}

/**
 * The largest payload one platform gets from a message, measured as sent (raw overrides
 * included): FCM's 4096-byte limit applies to what Android, iOS or the web receives.
 */
export function fcmPayloadBytes(message: TokenMessage | TopicMessage | ConditionMessage): number {
  const bytes = (value: Record<string, unknown>) => utf8Bytes(JSON.stringify(dropUndefined(value)));
  const android = bytes({ notification: message.notification, android: message.android?.notification, data: message.android?.data ?? message.data });
  const apns = bytes({ notification: message.notification, payload: message.apns?.payload, data: message.data });
  const web = bytes({ notification: message.notification, webpush: message.webpush?.notification, data: message.webpush?.data ?? message.data });
  return Math.max(android, apns, web);
}

/**
 * Each platform's payload is a part of the whole message, under keys no longer than the message's
 * own: when the whole fits, every part does, and one serialisation (not three) settles it.
 */
function surelyFits(message: TokenMessage): boolean {
  const whole = JSON.stringify(message);
  // UTF-8 takes at most 3 bytes for a UTF-16 unit: most messages need no count.
  return whole.length * 3 <= limits.fcmPayloadBytes || utf8Bytes(whole) <= limits.fcmPayloadBytes;
}

/**
 * The message as it goes now: APNs takes an absolute expiry, so it is computed per request, as
 * the Android and web TTLs are relative. A TTL of 0 is "deliver now or never": apns-expiration 0.
 * A raw `apns-expiration` in the template wins.
 */
export function withApnsExpiration({ message, ttlSeconds }: FcmPayload, nowSeconds: number): TokenMessage {
  if (ttlSeconds === undefined || message.apns?.headers?.['apns-expiration'] !== undefined) return message;
  const expiration = ttlSeconds === 0 ? '0' : String(nowSeconds + ttlSeconds);
  return { ...message, apns: { ...message.apns, headers: { ...message.apns?.headers, 'apns-expiration': expiration } } };
}
