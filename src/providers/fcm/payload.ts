import type { TokenMessage } from 'firebase-admin/messaging';
import type { DeviceRecipient } from '../../audience/recipient.js';
import type { RenderedMessage } from '../../message/compile-template.js';
import { limits, tooLarge, utf8Bytes, webPushTopic } from '../../message/limits.js';
import { dropUndefined, mergeFields } from '../../message/merge-fields.js';
import type { BuildContext, BuildResult } from '../provider.js';

/**
 * The firebase-admin `Message` for one token. One message serves Android, iOS-through-FCM and
 * web apps on FCM, so it carries an `android`, an `apns` and a `webpush` block; FCM uses the one
 * that matches the token's platform.
 */
export function buildFcmPayload(message: RenderedMessage, recipient: DeviceRecipient, context: BuildContext): BuildResult<TokenMessage> {
  const visible = message.kind === 'notification';
  const data = message.link ? { ...message.data, link: message.link } : message.data;
  const notification = visible ? { title: message.title, body: message.body, imageUrl: message.image } : undefined;
  const collapseIdFits = message.group !== undefined && utf8Bytes(message.group) <= limits.apnsCollapseIdBytes;
  const ttl = message.ttlSeconds;

  const built = dropUndefined({
    token: recipient.token,
    notification,
    data,
    android: {
      collapseKey: message.group,
      priority: message.priority,
      ttl: ttl === undefined ? undefined : ttl * 1000, // firebase-admin takes milliseconds
      notification: visible ? { tag: message.thread, sound: message.sound } : undefined,
    },
    apns: {
      headers: {
        'apns-push-type': visible ? 'alert' : 'background',
        'apns-priority': !visible || message.priority === 'normal' ? '5' : '10',
        // An over-long key would make APNs reject the message; Android still gets its collapse_key.
        'apns-collapse-id': collapseIdFits ? message.group : undefined,
        'apns-expiration': ttl === undefined ? undefined : String(context.now + ttl),
      },
      payload: {
        aps: {
          threadId: message.thread,
          badge: message.badge,
          sound: visible ? message.sound : undefined,
          contentAvailable: visible ? undefined : true,
          mutableContent: visible && message.image ? true : undefined,
        },
      },
    },
    webpush: {
      headers: {
        TTL: ttl === undefined ? undefined : String(ttl),
        Urgency: message.urgency ?? (message.priority === 'high' ? 'high' : undefined),
        Topic: message.group === undefined ? undefined : webPushTopic(message.group),
      },
      fcmOptions: message.link?.startsWith('https://') ? { link: message.link } : undefined,
    },
  });
  const payload = mergeFields(built as unknown as Record<string, unknown>, message.fcm) as unknown as TokenMessage;

  const bytes = fcmPayloadBytes(payload);
  if (bytes > limits.fcmPayloadBytes) {
    return { ok: false, reason: 'payload-too-large', detail: tooLarge('FCM payload (notification + data)', bytes, limits.fcmPayloadBytes) };
  }
  return { ok: true, payload };
}

/** The part of a message FCM counts against its 4096-byte limit. */
export function fcmPayloadBytes(message: TokenMessage): number {
  return utf8Bytes(JSON.stringify({ notification: message.notification, data: message.data }));
}
