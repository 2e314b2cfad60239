import type { DeviceRecipient } from '../../domain/recipient.js';
import type { RenderedMessage } from '../../message/compile-template.js';
import { apnsCollapseId, limits, tooLarge, utf8Bytes } from '../../message/limits.js';
import { liveActivityAps, settleLiveActivity } from '../../message/live-activity.js';
import { definedFields, dropUndefined, mergeFields } from '../../message/merge-fields.js';
import type { BuildContext, BuildResult } from '../provider.js';

/** What APNs receives for one device: the headers node-apn sets and the JSON body. */
export interface ApnsPayload {
  topic?: string;
  pushType: 'alert' | 'background' | 'liveactivity';
  priority: 5 | 10;
  /** Seconds to keep trying; turned into apns-expiration when the request is made. */
  ttlSeconds?: number;
  collapseId?: string;
  body: Record<string, unknown>;
}

/** Apple: a Live Activity's apns-topic is the app's bundle id with this appended. */
const liveActivityTopicSuffix = '.push-type.liveactivity';

/** The APNs request for one device token: headers for node-apn and the JSON body. */
export function buildApnsPayload(message: RenderedMessage, recipient: DeviceRecipient, context: BuildContext): BuildResult<ApnsPayload> {
  if (liveActivityAps(message.apns)) return buildLiveActivity(message, recipient, context);
  const visible = message.kind === 'notification';
  const aps = visible
    ? {
        alert: { title: message.title, body: message.body },
        badge: message.badge,
        sound: message.sound,
        'thread-id': message.thread,
        'mutable-content': message.image ? 1 : undefined, // lets a notification service extension fetch the image
      }
    : // Apple: a background notification's aps holds content-available and nothing else.
      { 'content-available': 1 };
  // Custom keys sit beside aps, as iOS apps read them from userInfo; aps itself cannot be overridden by data.
  const built = dropUndefined({ ...message.data, link: message.link, image: message.image, aps });
  const body = mergeFields(built as Record<string, unknown>, message.apns);

  const bytes = utf8Bytes(JSON.stringify(body));
  if (bytes > limits.apnsPayloadBytes) {
    return { ok: false, reason: 'payload-too-large', detail: tooLarge('APNs payload', bytes, limits.apnsPayloadBytes) };
  }
  return {
    ok: true,
    payload: definedFields({
      topic: recipient.apnsTopic ?? context.apnsTopic,
      pushType: visible ? 'alert' : 'background',
      // Apple requires priority 5 for background pushes.
      priority: !visible || message.priority === 'normal' ? 5 : 10,
      ttlSeconds: message.ttlSeconds,
      collapseId: message.group === undefined ? undefined : apnsCollapseId(message.group),
      body,
    }),
  };
}

/**
 * An ActivityKit push: the template's Live Activity fields in aps, its title, body and sound as
 * the alert (inside it, where ActivityKit reads the sound), to `<bundle id>.push-type.liveactivity`.
 */
function buildLiveActivity(message: RenderedMessage, recipient: DeviceRecipient, context: BuildContext): BuildResult<ApnsPayload> {
  const built = liveActivityBody(message);
  if (!built.ok) return built;
  const bundle = recipient.apnsTopic ?? context.apnsTopic;
  return {
    ok: true,
    payload: definedFields({
      topic: bundle === undefined || bundle.endsWith(liveActivityTopicSuffix) ? bundle : `${bundle}${liveActivityTopicSuffix}`,
      pushType: 'liveactivity',
      priority: liveActivityPriority(message),
      ttlSeconds: message.ttlSeconds,
      collapseId: message.group === undefined ? undefined : apnsCollapseId(message.group),
      body: built.payload,
    }),
  };
}

/** What APNs receives for a broadcast channel: one Live Activity update or end, the same for every subscriber. */
export interface ApnsBroadcastPayload {
  priority: 5 | 10;
  /** Seconds to keep trying; turned into apns-expiration when the request is made. */
  ttlSeconds?: number;
  body: Record<string, unknown>;
}

/**
 * A broadcast's request (Apple, "Sending broadcast push notification requests to APNs"): channels
 * carry Live Activity updates only, and a channel's subscribers already have the activity, so a
 * template that is no Live Activity, or one that starts one, is refused before anything is sent.
 */
export function buildApnsBroadcast(message: RenderedMessage): BuildResult<ApnsBroadcastPayload> {
  const aps = liveActivityAps(message.apns);
  if (!aps) {
    return {
      ok: false,
      reason: 'template-error',
      detail: 'an APNs broadcast channel carries Live Activity updates only: the template needs apns.aps with event "update" or "end", timestamp and content-state',
    };
  }
  if (aps.event !== 'update' && aps.event !== 'end') {
    return {
      ok: false,
      reason: 'template-error',
      detail: `apns.aps.event is ${JSON.stringify(aps.event)}: a channel updates or ends the Live Activity its subscribers have ("update" or "end"); starting one goes to push-to-start tokens`,
    };
  }
  const built = liveActivityBody(message);
  if (!built.ok) return built;
  return { ok: true, payload: definedFields({ priority: liveActivityPriority(message), ttlSeconds: message.ttlSeconds, body: built.payload }) };
}

/** A Live Activity's JSON: the template's fields in aps, its title, body and sound as the alert; its dates settled now. */
function liveActivityBody(message: RenderedMessage): BuildResult<Record<string, unknown>> {
  const alert = message.title === undefined && message.body === undefined ? undefined : { title: message.title, body: message.body, sound: message.sound };
  const built = dropUndefined({ ...message.data, link: message.link, aps: { alert } });
  const body = mergeFields(built as Record<string, unknown>, message.apns);
  const problem = settleLiveActivity(body.aps as Record<string, unknown>, Math.floor(Date.now() / 1000));
  if (problem) return { ok: false, reason: 'template-error', detail: problem };
  const bytes = utf8Bytes(JSON.stringify(body));
  if (bytes > limits.apnsPayloadBytes) {
    return { ok: false, reason: 'payload-too-large', detail: tooLarge('APNs Live Activity payload', bytes, limits.apnsPayloadBytes) };
  }
  return { ok: true, payload: body };
}

/** Apple: 10 is delivered at once, within a budget of such updates per app; 5 for those that can wait. */
function liveActivityPriority(message: RenderedMessage): 5 | 10 {
  return message.priority === 'normal' ? 5 : 10;
}
