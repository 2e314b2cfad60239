/**
 * Every setting pushcast reads, in one table: where it lives in the config file, the environment
 * variable that overrides it, and how to treat its value. Loading, redaction and `pushcast config`
 * all work from this table; schema/config-v1.schema.json describes the same settings for editors.
 */
export interface Setting {
  /** Dotted path in the config file, e.g. "apns.keyId". */
  path: string;
  /** Environment variables that set it, the first found wins. */
  env: string[];
  /** `secret`: never shown; `file`: a path (or inline content) resolved against its source; `number`, `list`. */
  kind: 'string' | 'secret' | 'file' | 'secret-file' | 'number' | 'list' | 'registry';
}

export const settings: Setting[] = [
  { path: 'fcm.serviceAccount', env: ['PUSHCAST_FCM_SERVICE_ACCOUNT', 'GOOGLE_APPLICATION_CREDENTIALS'], kind: 'secret-file' },
  { path: 'fcm.projectId', env: ['PUSHCAST_FCM_PROJECT_ID'], kind: 'string' },
  { path: 'fcm.endpoint', env: ['PUSHCAST_FCM_ENDPOINT'], kind: 'string' },
  { path: 'fcm.batchSize', env: ['PUSHCAST_FCM_BATCH_SIZE'], kind: 'number' },
  { path: 'fcm.androidAppId', env: ['PUSHCAST_FCM_ANDROID_APP_ID'], kind: 'string' },
  { path: 'fcm.dataEndpoint', env: ['PUSHCAST_FCM_DATA_ENDPOINT'], kind: 'string' },
  { path: 'fcm.topicsEndpoint', env: ['PUSHCAST_FCM_TOPICS_ENDPOINT'], kind: 'string' },
  { path: 'apns.key', env: ['PUSHCAST_APNS_KEY'], kind: 'secret-file' },
  { path: 'apns.keyId', env: ['PUSHCAST_APNS_KEY_ID'], kind: 'string' },
  { path: 'apns.teamId', env: ['PUSHCAST_APNS_TEAM_ID'], kind: 'string' },
  { path: 'apns.cert', env: ['PUSHCAST_APNS_CERT'], kind: 'file' },
  { path: 'apns.certKey', env: ['PUSHCAST_APNS_CERT_KEY'], kind: 'secret-file' },
  { path: 'apns.pfx', env: ['PUSHCAST_APNS_PFX'], kind: 'secret-file' },
  { path: 'apns.passphrase', env: ['PUSHCAST_APNS_PASSPHRASE'], kind: 'secret' },
  { path: 'apns.topic', env: ['PUSHCAST_APNS_TOPIC'], kind: 'string' },
  { path: 'apns.environment', env: ['PUSHCAST_APNS_ENVIRONMENT'], kind: 'string' },
  { path: 'apns.endpoint', env: ['PUSHCAST_APNS_ENDPOINT'], kind: 'string' },
  { path: 'apns.channelsEndpoint', env: ['PUSHCAST_APNS_CHANNELS_ENDPOINT'], kind: 'string' },
  { path: 'webpush.vapidPublicKey', env: ['PUSHCAST_VAPID_PUBLIC_KEY'], kind: 'string' },
  { path: 'webpush.vapidPrivateKey', env: ['PUSHCAST_VAPID_PRIVATE_KEY'], kind: 'secret' },
  { path: 'webpush.subject', env: ['PUSHCAST_VAPID_SUBJECT'], kind: 'string' },
  { path: 'webpush.endpoint', env: ['PUSHCAST_WEBPUSH_ENDPOINT'], kind: 'string' },
  { path: 'webpush.allowedOrigins', env: ['PUSHCAST_WEBPUSH_ALLOWED_ORIGINS'], kind: 'list' },
  { path: 'webpush.format', env: ['PUSHCAST_WEBPUSH_FORMAT'], kind: 'string' },
  { path: 'ca', env: ['PUSHCAST_CA'], kind: 'file' },
  { path: 'requestTimeout', env: ['PUSHCAST_REQUEST_TIMEOUT'], kind: 'string' },
  { path: 'stallTimeout', env: ['PUSHCAST_STALL_TIMEOUT'], kind: 'string' },
  { path: 'concurrency', env: ['PUSHCAST_CONCURRENCY'], kind: 'number' },
  { path: 'workers', env: ['PUSHCAST_WORKERS'], kind: 'number' },
  { path: 'rate', env: ['PUSHCAST_RATE'], kind: 'string' },
  { path: 'journalDir', env: ['PUSHCAST_JOURNAL_DIR'], kind: 'string' },
  { path: 'registry', env: ['PUSHCAST_REGISTRY'], kind: 'registry' },
  { path: 'cap', env: ['PUSHCAST_CAP'], kind: 'string' },
];

/** Where a setting's value came from, for `pushcast config` and for what is wrong with it. */
export interface Source {
  from: 'flag' | 'env' | 'file';
  /** The flag, the variable, or the file. */
  name: string;
}

export function isSecret(setting: Setting): boolean {
  return setting.kind === 'secret' || setting.kind === 'secret-file';
}

export function getSetting(config: object, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), config);
}

export function setSetting(config: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let target = config;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    target = target[key] = next && typeof next === 'object' ? { ...(next as Record<string, unknown>) } : {};
  }
  target[keys[keys.length - 1]] = value;
}
