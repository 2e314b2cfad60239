import type { DeviceRecipient } from '../../domain/recipient.js';
import type { RenderedMessage } from '../../message/compile-template.js';
import { limits, tooLarge, utf8Bytes, webPushTopic } from '../../message/limits.js';
import { definedFields, dropUndefined, mergeFields } from '../../message/merge-fields.js';
import type { BuildContext, BuildResult } from '../provider.js';

/** What web-push receives for one subscription: the plaintext to encrypt and the request options. */
export interface WebPushPayload {
  plaintext: string;
  ttlSeconds?: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  topic?: string;
}

/**
 * The JSON a subscription receives, and the request options. In pushcast's format (the README's
 * "The web push payload"), the site's service worker shows it; in the Declarative Web Push format
 * (`webpush.format: "declarative"`, a W3C Push API draft), Safari 18.4+ shows it with no service
 * worker and other browsers hand it to the service worker. `group` is the web's `tag` (a newer
 * notification replaces the one shown) and `Topic` (replaces one still queued); the web has no threads.
 * The app badge is `app_badge`, a number, as the Badging API takes it: `badge` means an image there.
 */
export function buildWebPushPayload(message: RenderedMessage, _recipient: DeviceRecipient, context: BuildContext): BuildResult<WebPushPayload> {
  const visible = message.kind === 'notification';
  let content: Record<string, unknown>;
  if (!visible) content = { data: message.data, link: message.link };
  else if (context.webPushFormat === 'declarative') {
    if (!message.title || !message.link) {
      return {
        ok: false,
        reason: 'template-error',
        detail: 'a Declarative Web Push notification needs a title and a link (its notification.navigate); set both, or webpush.format "pushcast"',
      };
    }
    content = {
      web_push: 8030,
      notification: { title: message.title, body: message.body, navigate: message.link, image: message.image, tag: message.group, data: message.data },
      app_badge: message.badge,
    };
  } else {
    content = { title: message.title, body: message.body, image: message.image, link: message.link, tag: message.group, app_badge: message.badge, data: message.data };
  }
  const body = mergeFields(dropUndefined(content), message.webpush);
  const plaintext = JSON.stringify(body);

  const bytes = utf8Bytes(plaintext);
  if (bytes > limits.webPushPlaintextBytes) {
    return { ok: false, reason: 'payload-too-large', detail: tooLarge('web push payload', bytes, limits.webPushPlaintextBytes) };
  }
  return {
    ok: true,
    payload: definedFields({
      plaintext,
      ttlSeconds: message.ttlSeconds,
      urgency: message.urgency ?? (message.priority === 'high' ? 'high' : 'normal'),
      topic: message.group === undefined ? undefined : webPushTopic(message.group),
    }),
  };
}
