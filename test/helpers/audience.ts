import { deviceIdentity, keysOf, type DeviceRecipient, type ProviderName } from '../../src/domain/recipient.js';
import { apnsToken, emulatorSubscription, fcmToken, tempFile } from './tokens.js';

/**
 * The one place tests build audiences: recipients as the reader makes them, and CSV files of
 * made-up tokens (web push rows use subscriptions the emulator can decrypt).
 */

/** A device recipient as read from an audience row: `id` names a made-up token of its provider, unless `token` gives one. */
export function device(provider: ProviderName, id: string | number, more: Partial<DeviceRecipient> = {}): DeviceRecipient {
  const subscription = provider === 'webpush' && more.token === undefined ? emulatorSubscription(String(id)) : undefined;
  const token = more.token ?? (provider === 'fcm' ? fcmToken(id) : provider === 'apns' ? apnsToken(id) : subscription!.endpoint);
  return { kind: 'device', line: 2, provider, token, subscription, vars: {}, fields: [], ...more, ...keysOf(deviceIdentity(provider, token)) };
}

/** A CSV cell in quotes, its quotes doubled (RFC 4180), as a spreadsheet writes every cell. */
export function quotedCell(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** A web push subscription as one CSV cell: its JSON, quoted. */
export function subscriptionCell(subscription: object): string {
  return quotedCell(JSON.stringify(subscription));
}

/** A CSV row's token cell for a device of `provider` named `id`. */
export function tokenCell(provider: ProviderName, id: string): string {
  if (provider === 'fcm') return fcmToken(id);
  if (provider === 'apns') return apnsToken(id);
  return subscriptionCell(emulatorSubscription(id));
}

/** An audience CSV of `count` devices of one provider; web push rows use subscriptions the emulator can decrypt. */
export function audienceFile(provider: 'fcm' | 'apns' | 'webpush', count: number, prefix = 'r'): string {
  const rows = ['provider,token,name'];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}${i}`;
    rows.push(`${provider},${tokenCell(provider, id)},User ${i}`);
  }
  return tempFile(`${provider}-${count}.csv`, `${rows.join('\n')}\n`);
}

/** An audience CSV cycling through FCM, APNs and Web Push, `count` rows in all. */
export function mixedAudienceFile(count: number, prefix = 'x'): string {
  const rows = ['provider,token,name'];
  for (let i = 0; i < count; i++) {
    const provider = (['fcm', 'apns', 'webpush'] as const)[i % 3];
    const id = `${prefix}${i}`;
    rows.push(`${provider},${tokenCell(provider, id)},User ${i}`);
  }
  return tempFile(`mixed-${count}.csv`, `${rows.join('\n')}\n`);
}
