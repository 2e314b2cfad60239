import { hash64, hashKey, type Hash64 } from './hash.js';

/** The three push providers, in the order reports list them. */
export const providerNames = ['fcm', 'apns', 'webpush'] as const;
export type ProviderName = (typeof providerNames)[number];

export function isProviderName(value: string): value is ProviderName {
  return (providerNames as readonly string[]).includes(value);
}

export type ApnsEnvironment = 'sandbox' | 'production';

/** The APNs push type of ActivityKit tokens (Live Activities): the audience's `apns_push_type` value. */
export const liveActivityPushType = 'liveactivity';

/** A browser's PushSubscription, as `subscription.toJSON()` gives it. */
export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** What a recipient's `line` means: the audience file's line, (a --channel send) the device's id in the registry, or (--token) nothing: there is one. */
export type LineIs = 'audience-line' | 'registry-device-id' | 'token-option';

/** One device to send to, read from a token-list audience. */
export interface DeviceRecipient {
  kind: 'device';
  /** Line of the audience file where this row starts (1 is the header). */
  line: number;
  provider: ProviderName;
  /** What duplicates, shards and the journal know it by (`keysOf`), computed once when the row is read. */
  hash: Hash64;
  key: string;
  /** FCM registration token, APNs device token (lower-case hex), or the web push endpoint. */
  token: string;
  subscription?: WebPushSubscription;
  userId?: string;
  locale?: string;
  timezone?: string;
  /** APNs topic (bundle id) for this device, when it differs from the configured one. */
  apnsTopic?: string;
  apnsEnvironment?: ApnsEnvironment;
  /** `liveactivity`: an ActivityKit token (a Live Activity's update token or the app's push-to-start token), which takes only Live Activity pushes. */
  apnsPushType?: typeof liveActivityPushType;
  /** The badge the registry last set on this device: a template's `badge: "increment"` counts up from it. */
  badge?: number;
  /** This run claimed the device in the registry for its campaign (see DeviceRegistry.claim): one it does not deliver is given back. */
  claimed?: boolean;
  /** An A/B campaign's variant this recipient gets (--variant): its message. */
  variant?: string;
  /** Every other column, by header name: the template's variables. Empty cells are left out. */
  vars: Record<string, string>;
  /** The row as read (free-text cells as values, see `unguardFormula`), so failed recipients can be written back in the audience's own format. */
  fields: string[];
}

/** The column an A/B campaign's --failed-out and --invalid-out name each row's variant in. */
export const abVariantColumn = 'ab_variant';

/**
 * An audience's `ab_variant` column (any case): under --variant, a row's variant is the one it
 * names rather than drawn, so an A/B campaign's --failed-out rows sent again get the message they
 * were meant to. Not `variant`, which an audience may hold for itself (a product's). Without
 * --variant it is a column like any other.
 */
export function isAbVariantColumn(name: string): boolean {
  return name.trim().toLowerCase() === abVariantColumn;
}

/** One user to send to, read from a user-ID audience; the device registry resolves their devices. */
export interface UserRecipient {
  kind: 'user';
  line: number;
  userId: string;
  hash: Hash64;
  key: string;
  locale?: string;
  timezone?: string;
  vars: Record<string, string>;
  fields: string[];
  /** The user's devices, as the device registry resolved them before the row reached the engine; none: there is no registry. */
  devices?: UserDevices;
  /** An A/B campaign's variant: every device of the user gets it. */
  variant?: string;
}

/** A user's devices worth trying (and those skipped, with why), or why the user has none. */
export type UserDevices = Array<DeviceRecipient | RowProblem> | { reason: SkipReason; detail: string };

/** Why a row was skipped. Stable names: they appear in reports and in `--json` output. */
export type SkipReason =
  | 'duplicate'
  | 'unknown-provider'
  | 'empty-token'
  | 'malformed-token'
  | 'malformed-row'
  | 'wrong-column-count'
  | 'missing-variable'
  | 'template-error'
  | 'payload-too-large'
  /** A Live Activity template and a device token, or an ordinary template and a Live Activity token (apns_push_type). */
  | 'wrong-push-type'
  | 'invalid-encoding'
  | 'endpoint-not-allowed'
  /** The provider has no credentials configured. */
  | 'provider-not-configured'
  /** `pushcast check`: the provider has no dry run, so only the token's format was checked. */
  | 'format-checked-only'
  /** A user-ID row: the registry has no device for the user, or none valid (in the channel). */
  | 'unknown-user'
  | 'no-device'
  /** A user-ID row with no device registry to resolve it. */
  | 'needs-registry'
  /** A registry device that logged out, or whose account was deleted (devices unregister). */
  | 'unregistered'
  /** A registry device not seen for longer than --max-age: likely uninstalled. */
  | 'stale'
  /** A scheduled campaign (--at, --local, --quiet-hours, --spread): not due yet; a later run sends it. */
  | 'deferred'
  /** Its moment passed longer ago than --late-limit: not sent at the wrong hour. */
  | 'missed-window'
  /** --local or --quiet-hours, and no time zone is known for the recipient. */
  | 'no-timezone'
  /** Not sent yet when the campaign stopped: a later run sends it. */
  | 'not-sent'
  /** --cap: the user (or device) already got that many pushes from other campaigns within the window. */
  | 'capped'
  /** An A/B campaign's holdout (--holdout): gets nothing, to compare the variants with. */
  | 'holdout';

/** A row that will not be sent, with where and why. */
export interface RowProblem {
  kind: 'problem';
  line: number;
  reason: SkipReason;
  detail: string;
  provider?: ProviderName;
  /** The recipient's hash when the row has one (a duplicate): shards place the row by it. */
  hash?: Hash64;
}

export type AudienceRow = DeviceRecipient | UserRecipient | RowProblem;

/** A device's identity: its provider and token (for web push, the endpoint). */
export function deviceIdentity(provider: ProviderName, token: string): string {
  return `${provider}\u0000${token}`;
}

export function userIdentity(userId: string): string {
  return `user\u0000${userId}`;
}

/**
 * What duplicates, shards and the journal recognise a recipient by: a hash of its identity, and
 * the journal's key (that hash in hex, so the journal does not hold every token).
 */
export function keysOf(identity: string): { hash: Hash64; key: string } {
  const hash = hash64(identity);
  return { hash, key: hashKey(hash) };
}

/** A short, safe form of a token for messages and logs: never the whole secret-like string. */
export function maskToken(token: string): string {
  if (token.startsWith('https://')) return `${new URL(token).origin}/…${token.slice(-4)}`; // a web push endpoint
  if (token.length <= 12) return `${token.slice(0, 2)}…`;
  return `${token.slice(0, 6)}…${token.slice(-4)}`;
}
