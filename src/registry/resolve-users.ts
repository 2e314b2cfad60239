import type { Hash64 } from '../domain/hash.js';
import { deviceIdentity, keysOf, type AudienceRow, type DeviceRecipient, type RowProblem, type UserDevices, type UserRecipient } from '../domain/recipient.js';
import { applyCap, capRecipients, claimKeys, type FrequencyCap } from './cap-recipients.js';
import type { DeviceQuery } from './device-query.js';
import { deviceKey, type Device, type DeviceRegistry } from './registry.js';

/** Which registry devices are worth trying. */
export interface DeviceFilter {
  /** Only the devices in this channel ("*" or none: all). */
  channel?: string;
  /** Only the devices matching this query (`send --where`). */
  where?: DeviceQuery;
  /** Devices not seen for longer than this are skipped as `stale` (LeanCloud counts a device valid for three months); 0: never. */
  maxAgeDays?: number;
  now?: Date;
}

/** Default of --max-age: LeanCloud's three months. */
export const defaultMaxAgeDays = 90;

/** Rows resolved per round trip to the registry: a query's worth, and what the stage holds at once. */
const rowsPerBatch = 2000;

export interface ResolveOptions {
  filter: DeviceFilter;
  /** Rows of this process's shard; others pass through unresolved (the engine skips them). */
  owns?: (hash: Hash64) => boolean;
  /**
   * A send claims the devices it will try for its campaign, so that a token listed under two
   * users, or moved between them mid-campaign, goes once over every shard; with `incrementBadge`,
   * the claim also counts the badge up and the push shows what the registry now holds. A dry run
   * claims nothing.
   */
  claims?: { campaign: string; shard: string; incrementBadge: boolean };
  /** The audience's device rows are the registry's (a --channel send): they are claimed too. */
  claimDeviceRows?: boolean;
  /** --cap: recipients who already got that many pushes from other campaigns are skipped as `capped` (only for an audience from the registry). */
  cap?: FrequencyCap;
  /** The registry failed (its server gone, a statement timed out): the campaign stops, and the users not resolved are not sent. */
  onFailure?: (error: Error) => void;
}

const notResolved = { reason: 'not-sent', detail: 'the device registry failed before this user was resolved: a later run sends it' } as const;

/**
 * Resolves user-ID rows to their devices on the way from the audience to the engine, a batch of
 * users per query and in the audience's order, in constant memory. A user row becomes one
 * recipient per device worth trying (multi-device fan-out) with the row's variables and, where
 * the device knows it, the device's locale. A device marked invalid, logged out or outside the
 * channel is not that user's any more; one not seen for longer than --max-age is skipped as
 * `stale`, and counted. With no registry (a dry run where none exists yet), every user is
 * unknown, as they would be in a new, empty one.
 */
export async function* resolveUsers(rows: AsyncIterable<AudienceRow>, registry: DeviceRegistry | undefined, options: ResolveOptions): AsyncGenerator<AudienceRow> {
  let batch: AudienceRow[] = [];
  let failed = false;
  const needsRegistry = (row: AudienceRow) => row.kind === 'user' || ((options.claimDeviceRows === true || options.cap !== undefined) && row.kind === 'device');
  const flush = async () => {
    const pending = batch.filter((row): row is UserRecipient => row.kind === 'user' && (options.owns?.(row.hash) ?? true));
    if (failed) for (const row of pending) row.devices = notResolved;
    else {
      try {
        const byUser = registry ? await registry.devicesOfUsers([...new Set(pending.map((row) => row.userId))], options.filter.where) : new Map<string, Device[]>();
        for (const row of pending) row.devices = devicesWorthTrying(row, byUser.get(row.userId) ?? [], options.filter);
        // A send that claims counts the cap as it claims (claimDevices), once; a dry run counts it here.
        const capsAsItClaims = options.claims !== undefined && (options.claimDeviceRows === true || !batch.some((row) => row.kind === 'device'));
        if (registry && options.cap && !capsAsItClaims) await capBatch(registry, batch, pending, options);
        if (registry && options.claims) await claimDevices(registry, batch, pending, options);
      } catch (error) {
        if (!options.onFailure) throw error;
        failed = true;
        for (const row of pending) row.devices = notResolved;
        options.onFailure(error as Error);
      }
    }
    const out = batch;
    batch = [];
    return out;
  };
  for await (const row of rows) {
    // A token audience's rows owe the registry nothing: they go on at once, never held.
    if (batch.length === 0 && !needsRegistry(row)) {
      yield row;
      continue;
    }
    batch.push(row);
    if (batch.length >= rowsPerBatch) yield* await flush();
  }
  yield* await flush();
}

/** The user's devices worth trying, and those skipped with why (stale), or why there are none. */
function devicesWorthTrying(row: UserRecipient, devices: Device[], filter: DeviceFilter): UserDevices {
  if (devices.length === 0) return { reason: 'unknown-user', detail: `no device is registered for user ${row.userId}` };
  const registered = devices.filter((device) => device.unregisteredAt === null);
  if (registered.length === 0) {
    const [last] = devices
      .map((device) => device.unregisteredAt!)
      .sort()
      .reverse();
    const why = devices.some((device) => device.unregisteredReason === 'account-deleted') ? 'the account was deleted' : 'the user logged out of every device';
    return { reason: 'unregistered', detail: `${why} (devices unregister, ${last.slice(0, 10)})` };
  }
  const valid = registered.filter((device) => device.valid);
  const { channel } = filter;
  const inChannel = channel && channel !== '*' ? valid.filter((device) => device.channels.includes(channel)) : valid;
  const chosen = inChannel.filter((device) => device.matchesQuery !== false);
  if (chosen.length === 0) {
    const why =
      valid.length === 0
        ? 'every device of this user is marked invalid'
        : inChannel.length === 0
          ? `none of this user's devices is in channel ${channel}`
          : "none of this user's devices matches --where";
    return { reason: 'no-device', detail: why };
  }
  const staleBefore = staleCutoff(filter);
  return chosen.map((device) => (staleBefore && device.lastSeen < staleBefore ? staleProblem(device, row.line) : deviceRecipient(device, row)));
}

/**
 * Applies --cap to a batch before anything is claimed: its users' devices, and its own device rows
 * (a channel's or a query's). A dry run's way; a send counts the cap as it claims (claimDevices).
 */
async function capBatch(registry: DeviceRegistry, batch: AudienceRow[], users: UserRecipient[], options: ResolveOptions): Promise<void> {
  await capRecipients(registry, users, ownDeviceRows(batch, options), options.cap!);
}

/** The batch's device rows this shard sends, each with how to put a skipped row in its place. */
function ownDeviceRows(batch: AudienceRow[], options: ResolveOptions): Array<{ row: DeviceRecipient; replace(problem: RowProblem): void }> {
  return batch.flatMap((row, index) => (row.kind === 'device' && (options.owns?.(row.hash) ?? true) ? [{ row, replace: (problem: RowProblem) => (batch[index] = problem) }] : []));
}

/**
 * Claims a batch's devices; one another shard holds becomes a duplicate, named by who has it. With
 * --cap the claim counts the cap, one capped claim at a time in the registry, so that of two capped
 * campaigns at once the second finds the first's claims; the devices over it are skipped as capped.
 */
async function claimDevices(registry: DeviceRegistry, batch: AudienceRow[], users: UserRecipient[], options: ResolveOptions): Promise<void> {
  const claims = options.claims!;
  const { cap } = options;
  const own = (row: AudienceRow): row is DeviceRecipient => row.kind === 'device' && (options.owns?.(row.hash) ?? true);
  const wanted = [
    ...users.flatMap((row) => (Array.isArray(row.devices) ? row.devices.filter((device): device is DeviceRecipient => device.kind === 'device') : [])),
    ...(options.claimDeviceRows ? batch.filter(own) : []),
  ];
  if (wanted.length === 0) return;
  const granted = await registry.claim(claims.campaign, claims.shard, claimKeys(wanted, cap), claims.incrementBadge, cap && { pushes: cap.pushes, since: cap.since, per: cap.per });
  if (cap) {
    applyCap(users, options.claimDeviceRows ? ownDeviceRows(batch, options) : [], cap, (device) => {
      const claim = granted.get(deviceKey(device));
      return claim && 'capped' in claim ? claim.capped : undefined;
    });
  }
  const claimed = (device: DeviceRecipient): DeviceRecipient | RowProblem => {
    const claim = granted.get(deviceKey(device));
    if (claim && !claim.granted && 'shard' in claim) {
      const holder = `${claim.userId ? `user ${claim.userId}` : 'another user'}${claim.shard ? ` (shard ${claim.shard})` : ''}`;
      return { kind: 'problem', line: device.line, provider: device.provider, reason: 'duplicate', detail: `this campaign sends this device to ${holder}` };
    }
    // The badge before this push: the template's increment shows the one the claim counted.
    return { ...device, claimed: true, ...(claim?.granted && claim.badge !== undefined ? { badge: claim.badge - 1 } : {}) };
  };
  for (const row of users) {
    if (Array.isArray(row.devices)) row.devices = row.devices.map((device) => (device.kind === 'device' ? claimed(device) : device));
  }
  if (!options.claimDeviceRows) return;
  for (let index = 0; index < batch.length; index++) {
    const row = batch[index];
    if (own(row)) batch[index] = claimed(row);
  }
}

/** Every device of a channel ("*": all) or matching a query worth trying, as an audience: a send with --channel or --where and no file. Stale ones are skipped and counted. */
export async function* registryAudience(registry: DeviceRegistry, filter: DeviceFilter): AsyncGenerator<AudienceRow> {
  const staleBefore = staleCutoff(filter);
  for await (const device of registry.selectDevices({ channel: filter.channel, where: filter.where })) {
    if (device.unregisteredAt !== null) continue;
    yield staleBefore && device.lastSeen < staleBefore ? staleProblem(device, device.id) : deviceRecipient(device);
  }
}

/** The moment before which a device last seen counts as stale; none when --max-age is 0. */
export function staleCutoff({ maxAgeDays = defaultMaxAgeDays, now = new Date() }: DeviceFilter): string | undefined {
  return maxAgeDays > 0 ? new Date(now.getTime() - maxAgeDays * 86_400_000).toISOString() : undefined;
}

function staleProblem(device: Device, line: number): RowProblem {
  return { kind: 'problem', line, provider: device.provider, reason: 'stale', detail: `not seen since ${device.lastSeen.slice(0, 10)} (--max-age): likely uninstalled` };
}

export function deviceRecipient(device: Device, row?: UserRecipient): DeviceRecipient {
  const userId = row?.userId ?? device.userId ?? undefined;
  return {
    kind: 'device',
    ...keysOf(deviceIdentity(device.provider, device.token)),
    // A channel send has no file: the device's id stands in for the line number.
    line: row?.line ?? device.id,
    provider: device.provider,
    token: device.token,
    subscription: device.subscription ? JSON.parse(device.subscription) : undefined,
    userId,
    locale: device.locale ?? row?.locale,
    timezone: device.timezone ?? row?.timezone,
    apnsTopic: device.app ?? undefined,
    apnsEnvironment: device.environment ?? undefined,
    badge: device.badge,
    ...(row?.variant !== undefined ? { variant: row.variant } : {}),
    // The device's attributes first: the audience file's own columns say more.
    vars: Object.assign(
      Object.create(null) as Record<string, string>,
      device.attributes,
      userId ? { user_id: userId } : {},
      device.locale ? { locale: device.locale } : {},
      row?.vars,
    ),
    fields: row?.fields ?? [device.provider, device.token, userId ?? ''],
  };
}
