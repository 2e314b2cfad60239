import { createHash } from 'node:crypto';

/**
 * The emulator's own vocabulary. It shares no code with the sender it tests, so a mistake in
 * pushcast's own hashing, types or byte counting cannot hide itself by being made twice.
 */
export type EmulatedProvider = 'fcm' | 'apns' | 'webpush';
export const emulatedProviders: readonly EmulatedProvider[] = ['fcm', 'apns', 'webpush'];

/** A browser's PushSubscription, as `subscription.toJSON()` gives it. */
export interface Subscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** 48 bits of a SHA-256, as a number: what fates are drawn from and deliveries are told apart by. */
export function digest48(text: string): number {
  return createHash('sha256').update(text).digest().readUIntBE(0, 6);
}

export function bytesOf(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
