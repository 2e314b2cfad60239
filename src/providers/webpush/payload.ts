import type { DeviceRecipient } from '../../audience/recipient.js';
import type { RenderedMessage } from '../../message/compile-template.js';
import { limits, tooLarge, utf8Bytes, webPushTopic } from '../../message/limits.js';
import { dropUndefined, mergeFields } from '../../message/merge-fields.js';
import type { BuildContext, BuildResult, WebPushPayload } from '../provider.js';

/**
 * The JSON a service worker receives in its `push` event, and the request options.
 * The service worker decides how to show it; pushcast's fields follow the Notification API's names.
 */
export function buildWebPushPayload(message: RenderedMessage, _recipient: DeviceRecipient, _context: BuildContext): BuildResult<WebPushPayload> {
  const visible = message.kind === 'notification';
  const content = visible
    ? { title: message.title, body: message.body, image: message.image, link: message.link, badge: message.badge, tag: message.thread, data: message.data }
    : { data: message.data, link: message.link };
  const body = mergeFields(dropUndefined(content) as Record<string, unknown>, message.webpush);
  const plaintext = JSON.stringify(body);

  const bytes = utf8Bytes(plaintext);
  if (bytes > limits.webPushPlaintextBytes) {
    return { ok: false, reason: 'payload-too-large', detail: tooLarge('web push payload', bytes, limits.webPushPlaintextBytes) };
  }
  return {
    ok: true,
    payload: dropUndefined({
      plaintext,
      ttlSeconds: message.ttlSeconds,
      urgency: message.urgency ?? (message.priority === 'high' ? 'high' : 'normal'),
      topic: message.group === undefined ? undefined : webPushTopic(message.group),
    }),
  };
}
