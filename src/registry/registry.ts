import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';
import { quoted } from '../domain/quote-value.js';
import { InputError } from '../errors.js';
import { attributeNamePattern, type DeviceQuery } from './device-query.js';

/**
 * The device registry's contract: users' devices, in the spirit of an `_Installation` table. A
 * user may have several devices; a token is unique per provider. Two backends keep it: an
 * embedded SQLite file (sqlite-registry.ts, the default) and PostgreSQL (postgres-registry.ts),
 * which an app's backend can write and a fleet of senders can share. Every operation is async
 * and behaves the same on both (test/registry-contract.test.ts runs one suite against each).
 */
export interface DeviceRegistry {
  /** What messages call it: the file, or the server as `postgres://user@host:port/db` (never a password). */
  readonly label: string;
  readonly backend: 'sqlite' | 'postgres';

  /** Adds or updates devices in one transaction; an import never revives a device marked invalid. A row older (by last seen) than what the registry holds changes nothing but the last seen. */
  upsert(devices: DeviceInput[], now?: string): Promise<void>;
  /** A device registers its token (see RegisterOptions); it is valid and registered again. */
  register(device: DeviceInput & { userId: string }, options?: RegisterOptions): Promise<void>;
  /** A user's devices, valid or not, with their channels. */
  devicesOf(userId: string): Promise<Device[]>;
  /** The devices of many users at once, by user: how a send resolves an audience, a batch per query. With `where`, each device says whether it matches (`matchesQuery`). */
  devicesOfUsers(userIds: readonly string[], where?: DeviceQuery): Promise<Map<string, Device[]>>;
  /** These devices as the registry holds them now, by device key (absent: not in the registry). */
  devicesByToken(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, Device>>;
  /** The environments declared by these devices (undefined: not in the registry): BadDeviceToken counts only when it was right. */
  environmentsOf(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, ApnsEnvironment | null>>;
  /** Logout (one token) or account deletion (every device of a user). Returns how many devices changed. */
  unregister(target: DeviceKey | { userId: string }, now?: string): Promise<number>;
  /** Marks tokens a provider called invalid; returns how many devices changed (a device already marked is not marked again). */
  markInvalid(entries: ReadonlyArray<DeviceKey & { reason: string }>, now?: string): Promise<number>;
  /**
   * Claims devices for one run of a campaign before they are sent, so that a token that moves to
   * another user mid-campaign, or is listed under two users in two shards, is sent once: a claim
   * held by another shard is refused, one held by the same shard (a resumed run) is granted again.
   * With `incrementBadge`, a new claim counts the device's badge up in the same statement and
   * returns it (what the push shows); a claim granted again returns the badge as it stands.
   * With `cap`, the frequency cap is counted as the claims are made, one capped claim at a time in
   * the registry: of two campaigns claiming the same user at once, the second finds the
   * first's claim, and a device over the cap is refused as `capped` (devices marked `uncapped`,
   * which an earlier run of the campaign settled, are not counted).
   */
  claim(
    campaign: string,
    shard: string,
    devices: ReadonlyArray<DeviceKey & { userId: string | null; uncapped?: boolean }>,
    incrementBadge: boolean,
    cap?: ClaimCap,
  ): Promise<Map<string, Claim>>;
  /**
   * The frequency cap's count: how many campaigns other than `campaign` kept a claim since `since`
   * on each user (by user id) or device (by deviceKey), the last one's time, and whether `campaign`
   * holds one itself (an earlier run of it sent there). A claim kept is a push that reached, or may
   * have reached, the provider (see feedback.ts): the registry's send history, pruned with the claims.
   */
  campaignsReaching(targets: CapTargets, since: string, campaign: string): Promise<Map<string, CampaignsReaching>>;
  /** When the campaign first claimed a device, by any shard and run (ISO); undefined before it has: where a frequency cap's window ends. */
  firstClaimOf(campaign: string): Promise<string | undefined>;
  /** Gives back the claims of devices this run did not deliver (failed, not sent, deferred), undoing their badge increments. */
  release(campaign: string, shard: string, devices: ReadonlyArray<DeviceKey>, decrementBadge: boolean): Promise<void>;
  /** Counts badges up without a claim (a send with no journal): one atomic statement, returning the new badges by device key. */
  incrementBadges(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, number>>;
  /** Writes devices exactly as another registry holds them (validity, traces, badge, dates): `devices migrate --from --to`. */
  copyIn(devices: Device[]): Promise<void>;
  /** The devices a selection names (a channel, a --where query, or every device), a page at a time, in id order. */
  selectDevices(selection: DeviceSelection): AsyncGenerator<Device>;
  /** The attribute names any device holds, sorted: what --where and a template may name beyond a device's own fields. */
  attributeNames(): Promise<string[]>;
  /** Sets (a value) or removes (null) attributes of one device or of every device of a user; returns how many devices changed. */
  setAttributes(target: DeviceKey | { userId: string }, changes: Record<string, string | null>, now?: string): Promise<number>;
  /** Drops invalid devices and, with `staleBefore`, those not seen since then; and claims of campaigns older than `claimsBefore`. */
  prune(options: PruneOptions): Promise<Record<PruneReason, number>>;
  /** What `prune` would drop now, by reason, and how many devices the registry holds. */
  pruneCounts(options: PruneOptions): Promise<Record<PruneReason, number> & { devices: number }>;
  /** The devices `prune` would drop now, each with why, a page at a time. */
  pruneCandidates(options: PruneOptions): AsyncGenerator<Device & { reason: PruneReason }>;
  stats(options?: { staleBefore?: string }): Promise<DeviceStats>;
  /** What `pushcast doctor` says of it: where it is, its schema, and whether this process may read and write what a send writes. */
  health(): Promise<RegistryFinding[]>;
  close(): Promise<void>;
}

/** Which devices `selectDevices` reads: in a channel ("*" or none: any), matching a query, valid only unless `includeInvalid`. */
export interface DeviceSelection {
  channel?: string;
  where?: DeviceQuery;
  includeInvalid?: boolean;
}

export interface RegistryFinding {
  ok: boolean;
  text: string;
  /** For a failure: what to do next. */
  next?: string;
}

export interface DeviceKey {
  provider: ProviderName;
  token: string;
}

/** Whose pushes a frequency cap counts: users (by id) or devices. */
export type CapTargets = { userIds: readonly string[] } | { devices: ReadonlyArray<DeviceKey> };

export interface CampaignsReaching {
  /** Other campaigns. */
  campaigns: number;
  /** When the last of them claimed it (ISO); null when none did. */
  lastAt: string | null;
  /** The campaign asking holds a claim there too. */
  mine: boolean;
}

/** A frequency cap as a claim counts it: `pushes` from other campaigns since `since`, per user (a device with none: per device) or per device. */
export interface ClaimCap {
  pushes: number;
  since: string;
  per: 'user' | 'device';
}

/** How a claim went: granted (with the badge the push shows, when counting), held by another shard, or over the frequency cap. */
export type Claim = { granted: true; badge?: number } | { granted: false; shard: string; userId: string | null } | { granted: false; capped: CampaignsReaching };

/**
 * The devices of a claim that `cap` refuses, from the counts of their users (`byUser`) and devices
 * (`byDevice`, by deviceKey): one place for both backends' rule, as capRecipients applies it.
 */
export function overCap(
  devices: ReadonlyArray<DeviceKey & { userId: string | null; uncapped?: boolean }>,
  cap: ClaimCap,
  byUser: ReadonlyMap<string, CampaignsReaching>,
  byDevice: ReadonlyMap<string, CampaignsReaching>,
): Map<string, CampaignsReaching> {
  const refused = new Map<string, CampaignsReaching>();
  for (const device of devices) {
    if (device.uncapped) continue;
    const count = cap.per === 'user' && device.userId ? byUser.get(device.userId) : byDevice.get(deviceKey(device));
    if (count && !count.mine && count.campaigns >= cap.pushes) refused.set(deviceKey(device), count);
  }
  return refused;
}

/** Whose counts a claim under `cap` needs: the users, and the devices counted by themselves. */
export function capTargetsOf(devices: ReadonlyArray<DeviceKey & { userId: string | null; uncapped?: boolean }>, cap: ClaimCap): { userIds: string[]; devices: DeviceKey[] } {
  const counted = devices.filter((device) => !device.uncapped);
  const byUser = cap.per === 'user';
  return {
    userIds: byUser ? [...new Set(counted.flatMap((device) => (device.userId ? [device.userId] : [])))] : [],
    devices: counted.filter((device) => !byUser || !device.userId),
  };
}

export interface RegisterOptions {
  /** The token it had before a refresh (reinstall, cleared data): it goes, and what it declared stays. */
  replaces?: string;
  /** Apps with one device per account: the user's other devices go. */
  singleDevice?: boolean;
}

export interface PruneOptions {
  staleBefore?: string;
}

export interface Device {
  id: number;
  userId: string | null;
  provider: ProviderName;
  /** FCM or APNs token, or the web push endpoint. */
  token: string;
  /** The web push subscription as JSON. */
  subscription: string | null;
  /** APNs topic (bundle id). */
  app: string | null;
  environment: ApnsEnvironment | null;
  platform: string | null;
  locale: string | null;
  timezone: string | null;
  channels: string[];
  /** What else is known of the device (plan, country, app version…): --where and templates read them. Text values. */
  attributes: Record<string, string>;
  /** Read with a --where query (devicesOfUsers): whether the device matches it. */
  matchesQuery?: boolean;
  valid: boolean;
  invalidReason: string | null;
  invalidAt: string | null;
  /** Logged out (`logout`) or its account deleted (`account-deleted`): it gets nothing until it registers again. */
  unregisteredAt: string | null;
  unregisteredReason: UnregisterReason | null;
  /** The app icon's badge as pushcast last set it (`badge: "increment"` counts up from it). */
  badge: number;
  createdAt: string;
  updatedAt: string;
  lastSeen: string;
}

export type UnregisterReason = 'logout' | 'account-deleted';

export type DeviceInput = Pick<Device, 'provider' | 'token'> &
  Partial<Omit<Device, 'id' | 'provider' | 'token' | 'valid' | 'invalidReason' | 'invalidAt' | 'unregisteredAt' | 'unregisteredReason' | 'badge' | 'createdAt' | 'updatedAt'>> & {
    /** Set the badge (a device reporting its app was opened: 0); otherwise it stays. */
    badge?: number | null;
  };

/**
 * What a device is to a send, the first that holds: `invalid` (a provider said so; prune drops
 * it), `unregistered` (logged out, or its account deleted), `stale` (not seen for --max-age),
 * else `valid`: a send tries it.
 */
export type DeviceState = 'valid' | 'invalid' | 'unregistered' | 'stale';

export function deviceState(device: { valid: boolean; unregistered: boolean; stale: boolean }): DeviceState {
  if (!device.valid) return 'invalid';
  if (device.unregistered) return 'unregistered';
  return device.stale ? 'stale' : 'valid';
}

export interface DeviceStats extends Record<DeviceState, number> {
  devices: number;
  users: number;
  byProvider: Record<string, Record<DeviceState, number>>;
  invalidByReason: Record<string, number>;
  unregisteredByReason: Record<string, number>;
}

/** Why prune drops a device; the first that holds. */
export type PruneReason = 'invalid' | 'stale';

/** Claims outlive their campaign by this long: a campaign resumed within it still knows what it claimed. */
export const claimRetentionDays = 90;

/** A channel name, as the Chabok rule has it: no "/"; "*" means every device. */
export function checkChannel(channel: string): string {
  const name = channel.trim();
  if (name === '' || name.includes('/')) throw new InputError(`channel ${quoted(channel)}: a channel name may not be empty or contain "/"`);
  return name;
}

/** Adds devices to the lists of their users (devicesOfUsers' answer), in the order given. */
export function addByUser(byUser: Map<string, Device[]>, devices: Iterable<Device>): void {
  for (const device of devices) {
    const list = byUser.get(device.userId!) ?? [];
    if (list.length === 0) byUser.set(device.userId!, list);
    list.push(device);
  }
}

/** The key a device goes by in the maps the registry returns. */
export function deviceKey(device: DeviceKey): string {
  return `${device.provider}\u0000${device.token}`;
}

/** The fields of a replaced device that a registration leaves unsaid. */
export function inheritedFrom(old: Device, given: DeviceInput): Pick<DeviceInput, 'app' | 'environment' | 'platform' | 'locale' | 'timezone' | 'channels' | 'attributes'> {
  return {
    attributes: { ...old.attributes, ...given.attributes },
    app: given.app ?? old.app,
    environment: given.environment ?? old.environment,
    platform: given.platform ?? old.platform,
    locale: given.locale ?? old.locale,
    timezone: given.timezone ?? old.timezone,
    channels: given.channels ?? old.channels,
  };
}

/** Checks attribute names and values for a write; none may shadow a device's own field (a template's {{locale}}). */
export function checkAttributes<Value extends string | null>(attributes: Record<string, Value>): Record<string, Value> {
  for (const name of Object.keys(attributes)) {
    if (!attributeNamePattern.test(name)) throw new InputError(`attribute ${quoted(name)}: a name is letters, digits and _, starting with a letter or _ (at most 64)`);
    if (reservedAttributeNames.has(name)) throw new InputError(`attribute ${quoted(name)}: a device's own field has that name; choose another`);
  }
  return attributes;
}

/** Whether a name is a device's own field, which no attribute may shadow. */
export function isDeviceField(name: string): boolean {
  return reservedAttributeNames.has(name);
}

const reservedAttributeNames = new Set([
  'user_id',
  'userId',
  'provider',
  'token',
  'app',
  'environment',
  'platform',
  'locale',
  'timezone',
  'channels',
  'badge',
  'valid',
  'attributes',
]);

/** `lastSeen` as a column is named: `last_seen`. */
type SnakeCase<Name extends string> = Name extends `${infer First}${infer Rest}` ? `${First extends Lowercase<First> ? First : `_${Lowercase<First>}`}${SnakeCase<Rest>}` : Name;

/** A row of the devices table as both backends name its columns: a Device's fields, but channels and validity, which each stores its own way. */
export type DeviceColumns = { [Field in Exclude<keyof Device, 'channels' | 'valid' | 'attributes' | 'matchesQuery'> as SnakeCase<Field>]: Device[Field] } & {
  matches_query?: boolean | number | null;
};

/** A device from its row, given the channels, attributes and validity as the backend reads them. */
export function deviceFromColumns(row: DeviceColumns, channels: string[], valid: boolean, attributes: Record<string, string>): Device {
  return {
    ...(row.matches_query !== undefined ? { matchesQuery: Boolean(row.matches_query) } : {}),
    id: row.id,
    userId: row.user_id,
    provider: row.provider,
    token: row.token,
    subscription: row.subscription,
    app: row.app,
    environment: row.environment,
    platform: row.platform,
    locale: row.locale,
    timezone: row.timezone,
    channels,
    attributes,
    valid,
    invalidReason: row.invalid_reason,
    invalidAt: row.invalid_at,
    unregisteredAt: row.unregistered_at,
    unregisteredReason: row.unregistered_reason,
    badge: row.badge,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSeen: row.last_seen,
  };
}
