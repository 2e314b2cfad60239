import { checkToken } from '../audience/check-token.js';
import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';
import { isTimeZone } from '../domain/zoned-time.js';
import { quoted } from '../domain/quote-value.js';
import { attributeNamePattern } from './device-query.js';
import { checkChannel, isDeviceField, type DeviceInput } from './registry.js';
import { longestLine, openJsonEntries, type JsonEntry } from './read-json-entries.js';

/** Where an `_Installation` export comes from: Parse Server or LeanCloud. */
export type InstallationSource = 'parse' | 'leancloud';

/**
 * One installation, mapped to a registry device, or why it could not be; `line` is where it starts
 * in the file. `device.lastSeen` is the installation's `updatedAt` (as ISO text), when it has one.
 */
export type InstallationRow =
  | { kind: 'device'; line: number; device: DeviceInput; invalid?: string }
  | { kind: 'problem'; line: number; reason: 'unmappable' | 'malformed-token' | 'malformed-row'; detail: string };

const appleTypes = new Set(['ios', 'osx', 'macos', 'tvos', 'watchos', 'visionos']);

/**
 * Reads an `_Installation` export of Parse Server or LeanCloud as a stream: a JSON array,
 * `{"results": […]}` (the dashboards' export) or JSON lines (mongoexport), and maps each installation
 * to a device: deviceType and pushType to the provider, deviceToken (or LeanCloud's FCM
 * registrationId) to the token, channels, timeZone, localeIdentifier, badge, appIdentifier/apnsTopic
 * to the app, the APNs environment where the export says it, the user pointer, updatedAt to last
 * seen (`device.lastSeen`), and LeanCloud's `valid: false` to a device marked invalid. An
 * installation that cannot be sent to (Windows, LeanCloud's own Android channel, no token) is a
 * problem with its line and why. Each row's line is where its installation starts: its line in JSON
 * lines, the line of its opening brace in an array.
 *
 * `file` is opened, its shape read and (a JSON array) checked whole before this resolves: a broken
 * export throws here, before anything is imported (see openJsonEntries for a pipe). `path` names it
 * in messages.
 */
export async function openInstallations(file: string, path: string, source: InstallationSource): Promise<AsyncGenerator<InstallationRow>> {
  return installationRows(await openJsonEntries(file, path), source);
}

const notAnInstallation = 'not valid JSON, or not an installation object';
const brokenLines = {
  'not-json': notAnInstallation,
  'cut-short': 'not valid JSON: the file ends in the middle of this line, so it was cut short (export it again in full)',
  'too-long': `a line of more than ${longestLine >> 20} MB: not one installation`,
};

async function* installationRows(entries: AsyncIterable<JsonEntry>, source: InstallationSource): AsyncGenerator<InstallationRow> {
  for await (const entry of entries) {
    const { line } = entry;
    if ('broken' in entry) {
      yield { kind: 'problem', line, reason: 'malformed-row', detail: brokenLines[entry.broken] };
      continue;
    }
    const { value } = entry;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      yield { kind: 'problem', line, reason: 'malformed-row', detail: notAnInstallation };
      continue;
    }
    yield mapInstallation(value as Installation, line, source);
  }
}

interface Installation {
  deviceType?: string;
  deviceToken?: string;
  pushType?: string;
  GCMSenderId?: string;
  vendor?: string;
  registrationId?: string;
  installationId?: string;
  channels?: unknown;
  timeZone?: string;
  localeIdentifier?: string;
  badge?: number;
  appIdentifier?: string;
  apnsTopic?: string;
  deviceProfile?: string;
  prod?: string;
  apnsEnvironment?: string;
  valid?: boolean;
  user?: unknown;
  _p_user?: string;
  owner?: unknown;
  updatedAt?: unknown;
  _updated_at?: unknown;
}

function mapInstallation(entry: Installation, line: number, source: InstallationSource): InstallationRow {
  const type = String(entry.deviceType ?? '').toLowerCase();
  const unmappable = (detail: string): InstallationRow => ({ kind: 'problem', line, reason: 'unmappable', detail });
  let provider: ProviderName;
  let token: string | undefined;
  if (appleTypes.has(type)) {
    provider = 'apns';
    token = entry.deviceToken;
  } else if (type === 'android') {
    provider = 'fcm';
    const vendor = String(entry.vendor ?? entry.pushType ?? '').toLowerCase();
    // Parse: pushType "gcm" (FCM) with the token in deviceToken. LeanCloud: hybrid push with vendor "fcm"/"gcm" and registrationId.
    if (vendor === 'gcm' || vendor === 'fcm' || entry.GCMSenderId) token = entry.registrationId ?? entry.deviceToken;
    else if (source === 'leancloud' && entry.installationId && !entry.deviceToken && !entry.registrationId) {
      return unmappable(
        `an Android device on LeanCloud's own push channel (installationId ${entry.installationId}, vendor ${quoted(entry.vendor ?? 'lc')}): it has no FCM token to send to`,
      );
    } else if (vendor) return unmappable(`an Android device pushed through ${quoted(vendor)}, not FCM: it has no FCM token to send to`);
    else token = entry.registrationId ?? entry.deviceToken;
  } else {
    return unmappable(`deviceType ${quoted(entry.deviceType ?? '')}: pushcast sends to iOS/macOS (APNs) and Android (FCM)`);
  }
  if (!token) return unmappable(`no ${provider === 'apns' ? 'deviceToken' : 'FCM token (deviceToken or registrationId)'}`);
  const checked = checkToken(provider, String(token));
  if (!checked.ok) return { kind: 'problem', line, reason: 'malformed-token', detail: checked.detail };

  // "" is Parse's broadcast channel: every device, which pushcast's --channel "*" already means.
  const channels = Array.isArray(entry.channels) ? entry.channels.map(String).filter((channel) => channel !== '') : [];
  try {
    channels.forEach(checkChannel);
  } catch (error) {
    return { kind: 'problem', line, reason: 'malformed-row', detail: (error as Error).message };
  }
  const device: DeviceInput = {
    provider,
    token: checked.token,
    userId: userOf(entry),
    locale: entry.localeIdentifier ? entry.localeIdentifier.replace(/_/g, '-') : null,
    timezone: entry.timeZone && isTimeZone(entry.timeZone) ? entry.timeZone : null,
    app: provider === 'apns' ? (entry.apnsTopic ?? entry.appIdentifier ?? null) : null,
    environment: provider === 'apns' ? environmentOf(entry) : null,
    platform: type,
    channels,
    badge: Number.isInteger(entry.badge) && entry.badge! >= 0 ? entry.badge! : null,
    lastSeen: dateOf(entry.updatedAt ?? entry._updated_at),
    attributes: customFields(entry),
  };
  return { kind: 'device', line, device, ...(entry.valid === false ? { invalid: `invalid in the ${source === 'parse' ? 'Parse' : 'LeanCloud'} export` } : {}) };
}

/** The `_Installation` fields pushcast reads itself or that are the database's own: the rest are the app's. */
const installationFields = new Set([
  ...['deviceType', 'deviceToken', 'pushType', 'GCMSenderId', 'vendor', 'registrationId', 'installationId', 'channels', 'timeZone', 'localeIdentifier'],
  ...['badge', 'appIdentifier', 'apnsTopic', 'deviceProfile', 'prod', 'apnsEnvironment', 'valid', 'user', 'owner', 'updatedAt', 'createdAt', 'objectId', 'ACL'],
]);

/**
 * The app's own fields of an installation (Parse's appVersion and appName, a custom plan or
 * country), kept as attributes: text, numbers and true/false, as text. Lists, objects, names
 * that cannot be a template variable and the database's `_` fields are left out.
 */
function customFields(entry: Installation): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(entry)) {
    if (installationFields.has(name) || name.startsWith('_') || isDeviceField(name) || !attributeNamePattern.test(name)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') kept[name] = String(value);
  }
  return kept;
}

/** The user the installation belongs to: a pointer (Parse's `user`, LeanCloud's `owner`), or mongoexport's `_p_user` ("_User$id"). */
function userOf(entry: Installation): string | null {
  for (const value of [entry.user, entry.owner]) {
    if (typeof value === 'string' && value) return value;
    if (value && typeof value === 'object' && typeof (value as { objectId?: unknown }).objectId === 'string') return (value as { objectId: string }).objectId;
  }
  if (typeof entry._p_user === 'string') return entry._p_user.split('$').pop() || null;
  return null;
}

/** Only where the export says it: LeanCloud's `prod` ("dev"/"prod") or an `apnsEnvironment` field; otherwise unknown. */
function environmentOf(entry: Installation): ApnsEnvironment | null {
  const said = String(entry.prod ?? entry.apnsEnvironment ?? '').toLowerCase();
  if (said === 'prod' || said === 'production') return 'production';
  if (said === 'dev' || said === 'development' || said === 'sandbox') return 'sandbox';
  return null;
}

/** ISO text, `{"__type": "Date", "iso": …}` (Parse and LeanCloud REST) or `{"$date": …}` (mongoexport). */
function dateOf(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : value && typeof value === 'object' ? ((value as { iso?: unknown }).iso ?? (value as { $date?: unknown }).$date) : undefined;
  const time = typeof text === 'string' || typeof text === 'number' ? new Date(text).getTime() : NaN;
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}
