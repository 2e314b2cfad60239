import { createECDH, createHash, type ECDH } from 'node:crypto';
import type { Subscription as WebPushSubscription } from './emulated.js';

/**
 * The emulator plays the browser as well as the push service: the keys of a subscription it
 * hands out are derived from the endpoint's last path segment, so it can decrypt what it receives
 * without storing anything, and fixtures made today still decrypt tomorrow.
 */
export function subscriberKeys(subscriptionId: string): { ecdh: ECDH; auth: Buffer } {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(createHash('sha256').update(`pushcast-emulator-subscriber:${subscriptionId}`).digest());
  const auth = createHash('sha256').update(`pushcast-emulator-auth:${subscriptionId}`).digest().subarray(0, 16);
  return { ecdh, auth };
}

/** A subscription the emulator can decrypt, on any push service origin. */
export function emulatorSubscription(subscriptionId: string, origin = 'https://fcm.googleapis.com'): WebPushSubscription {
  const { ecdh, auth } = subscriberKeys(subscriptionId);
  return {
    endpoint: `${origin}/fcm/send/${subscriptionId}`,
    keys: { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') },
  };
}

export function subscriptionIdOf(endpoint: string): string {
  return new URL(endpoint).pathname.split('/').filter(Boolean).pop() ?? '';
}
