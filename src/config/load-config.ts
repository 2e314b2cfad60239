import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, describeFileError } from '../errors.js';
import type { PushcastConfig } from './config.js';

export const defaultConfigFile = 'pushcast.config.json';

/** Environment variables for each setting; GOOGLE_APPLICATION_CREDENTIALS is the one firebase-admin users know. */
const environmentSettings: Array<[variable: string, section: keyof PushcastConfig, key: string]> = [
  ['GOOGLE_APPLICATION_CREDENTIALS', 'fcm', 'serviceAccount'],
  ['PUSHCAST_FCM_SERVICE_ACCOUNT', 'fcm', 'serviceAccount'],
  ['PUSHCAST_FCM_PROJECT_ID', 'fcm', 'projectId'],
  ['PUSHCAST_FCM_ENDPOINT', 'fcm', 'endpoint'],
  ['PUSHCAST_APNS_KEY', 'apns', 'key'],
  ['PUSHCAST_APNS_KEY_ID', 'apns', 'keyId'],
  ['PUSHCAST_APNS_TEAM_ID', 'apns', 'teamId'],
  ['PUSHCAST_APNS_CERT', 'apns', 'cert'],
  ['PUSHCAST_APNS_CERT_KEY', 'apns', 'certKey'],
  ['PUSHCAST_APNS_PASSPHRASE', 'apns', 'passphrase'],
  ['PUSHCAST_APNS_TOPIC', 'apns', 'topic'],
  ['PUSHCAST_APNS_ENVIRONMENT', 'apns', 'environment'],
  ['PUSHCAST_APNS_ENDPOINT', 'apns', 'endpoint'],
  ['PUSHCAST_VAPID_PUBLIC_KEY', 'webpush', 'vapidPublicKey'],
  ['PUSHCAST_VAPID_PRIVATE_KEY', 'webpush', 'vapidPrivateKey'],
  ['PUSHCAST_VAPID_SUBJECT', 'webpush', 'subject'],
  ['PUSHCAST_WEBPUSH_ENDPOINT', 'webpush', 'endpoint'],
  ['PUSHCAST_CA', 'ca', ''],
];

export interface LoadedConfig {
  config: PushcastConfig;
  /** The file read, if any. */
  file?: string;
}

/** Settings that may name a file: made absolute where they are read, so a relative path means what its writer meant. */
const fileSettings: Array<[section: 'fcm' | 'apns' | 'ca', key: string]> = [
  ['fcm', 'serviceAccount'],
  ['apns', 'key'],
  ['apns', 'cert'],
  ['apns', 'certKey'],
  ['ca', ''],
];

function resolveFileSettings(config: PushcastConfig, baseDir: string): PushcastConfig {
  const out: PushcastConfig = { ...config };
  for (const [section, key] of fileSettings) {
    if (section === 'ca') {
      if (out.ca && !isInlineContent(out.ca)) out.ca = resolve(baseDir, out.ca);
      continue;
    }
    const values = out[section] as Record<string, unknown> | undefined;
    const value = values?.[key];
    if (typeof value === 'string' && !isInlineContent(value)) out[section] = { ...values, [key]: resolve(baseDir, value) };
  }
  return out;
}

/** PEM or JSON given as the value itself rather than as a path. */
export function isInlineContent(value: string): boolean {
  const trimmed = value.trim();
  return trimmed.startsWith('-----BEGIN') || trimmed.startsWith('{');
}

/** Reads the config file (given, or ./pushcast.config.json if present), then lets the environment override it. */
export function loadConfig(options: { file?: string; cwd: string; env: NodeJS.ProcessEnv }): LoadedConfig {
  const path = options.file ? resolve(options.cwd, options.file) : resolve(options.cwd, defaultConfigFile);
  let config: PushcastConfig = {};
  let file: string | undefined;
  if (options.file || existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`config ${describeFileError(options.file ?? defaultConfigFile, error)}`, { cause: error });
    }
    try {
      config = JSON.parse(text.replace(/^\uFEFF/, '')) as PushcastConfig;
    } catch (error) {
      throw new ConfigError(`config ${options.file ?? defaultConfigFile}: not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ConfigError(`config ${path}: must be a JSON object`);
    file = path;
    config = resolveFileSettings(config, resolve(path, '..'));
  }
  const fromEnvironment: PushcastConfig = {};
  for (const [variable, section, key] of environmentSettings) {
    const value = options.env[variable];
    if (value === undefined || value === '') continue;
    if (section === 'ca') fromEnvironment.ca = value;
    else (fromEnvironment as Record<string, Record<string, string>>)[section] = { ...(fromEnvironment[section] as object), [key]: value };
  }
  const environment = resolveFileSettings(fromEnvironment, options.cwd);
  for (const section of ['fcm', 'apns', 'webpush'] as const) {
    if (environment[section]) config = { ...config, [section]: { ...config[section], ...environment[section] } };
  }
  if (environment.ca) config = { ...config, ca: environment.ca };
  return { config, file };
}
