import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { providerNames, type ProviderName } from '../domain/recipient.js';
import type { PushcastConfig } from './config.js';

/** The credentials `pushcast init` writes: placeholders to fill in, never working values. */
const credentialPlaceholders: Record<ProviderName, Record<string, string>> = {
  fcm: { serviceAccount: './firebase-service-account.json' },
  apns: { key: './AuthKey_KEYID12345.p8', keyId: 'KEYID12345', teamId: 'TEAMID1234' },
  webpush: { vapidPublicKey: 'REPLACE: run pushcast vapid-keys', vapidPrivateKey: 'REPLACE: or set PUSHCAST_VAPID_PRIVATE_KEY' },
};

/** The section `pushcast init` writes for each provider: its placeholders, and settings a project may keep. */
export const initConfigSections: Record<ProviderName, Record<string, string>> = {
  fcm: { ...credentialPlaceholders.fcm },
  apns: { ...credentialPlaceholders.apns, topic: 'com.example.app', environment: 'production' },
  webpush: { ...credentialPlaceholders.webpush, subject: 'mailto:push@example.com' },
};

/**
 * The providers whose credentials still hold one of init's placeholders, in `config` as read from
 * `file`. A path counts only while no file is there: a real key may well be saved where init's
 * path points (./firebase-service-account.json).
 */
export function initPlaceholders(config: PushcastConfig, file: string | undefined): ProviderName[] {
  return providerNames.filter((name) =>
    Object.entries(credentialPlaceholders[name]).some(([setting, placeholder]) => {
      const value = (config[name] as Record<string, unknown> | undefined)?.[setting];
      if (value === placeholder) return true;
      // The loader made the path absolute, from the config file's folder.
      return file !== undefined && placeholder.startsWith('./') && value === resolve(dirname(file), placeholder) && !existsSync(value);
    }),
  );
}
