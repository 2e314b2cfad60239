import { maskToken } from '../../domain/recipient.js';
import type { ProviderDescriptor } from '../provider.js';
import { allowOrigins } from './allowed-origins.js';
import { buildWebPushPayload, type WebPushPayload } from './payload.js';

export const webPushDescriptor: ProviderDescriptor<'webpush', WebPushPayload> = {
  name: 'webpush',
  title: 'Web Push',
  isConfigured: (config) => Boolean(config.webpush?.vapidPublicKey || config.webpush?.vapidPrivateKey),
  create: async (config) => (await import('./create-webpush.js')).createWebPushProvider(config),
  // An audience from elsewhere could name any URL, hosts inside your network too: checked before anything is rendered or sent.
  admission: (config) => {
    const allowed = allowOrigins(config.webpush?.allowedOrigins);
    return (recipient) =>
      allowed(recipient.token)
        ? undefined
        : { reason: 'endpoint-not-allowed', detail: `${new URL(recipient.token).origin} is not a known push service; add it to webpush.allowedOrigins to send there` };
  },
  buildPayload: buildWebPushPayload,
  sample: (item) => {
    const { plaintext, ...options } = item.payload;
    return { endpoint: maskToken(item.recipient.token), options, payload: JSON.parse(plaintext) };
  },
  // Each push service judges the VAPID JWT for its own origin.
  scopeOf: (item) => new URL(item.recipient.token).origin,
  validatesWithoutDelivery: false,
  doctor: {
    summary: (config) => `VAPID key pair matches; subject ${config.webpush?.subject}`,
    unchecked: 'whether push services accept this VAPID key: they check it only on a real subscription; send to one with pushcast send --token',
    setUp:
      'use the key pair your site subscribes browsers with (or make one with pushcast vapid-keys, then subscribe with its public key); set webpush.vapidPublicKey, webpush.vapidPrivateKey and webpush.subject (mailto: or https: contact)',
  },
};
