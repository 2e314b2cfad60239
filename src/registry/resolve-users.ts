import { deviceIdentity, keysOf, type AudienceRow, type DeviceRecipient, type RowProblem, type UserRecipient } from '../domain/recipient.js';
import type { Device, DeviceRegistry } from './device-registry.js';

/** A user's devices worth trying, and the ones skipped with why (stale, logged out). */
export type UserResolution = Array<DeviceRecipient | RowProblem> | { reason: 'unknown-user' | 'no-device' | 'unregistered'; detail: string };

/** Which registry devices are worth trying. */
export interface DeviceFilter {
  /** Only the devices in this channel ("*" or none: all). */
  channel?: string;
  /** Devices not seen for longer than this are skipped as `stale` (LeanCloud counts a device valid for three months); 0: never. */
  maxAgeDays?: number;
  now?: Date;
}

/** Default of --max-age: LeanCloud's three months. */
export const defaultMaxAgeDays = 90;

/**
 * A user row becomes one recipient per device worth trying (multi-device fan-out), with the
 * row's variables and, where the device knows it, the device's locale. A device marked invalid,
 * logged out or outside the channel is not that user's any more; one not seen for longer than
 * --max-age is skipped as `stale`, and counted. With no registry (a dry run where none exists
 * yet), every user is unknown, as they would be in a new, empty one.
 */
export function userResolver(registry: DeviceRegistry | undefined, filter: DeviceFilter = {}): (row: UserRecipient) => UserResolution {
  const staleBefore = staleCutoff(filter);
  const { channel } = filter;
  return (row) => {
    const devices = registry?.devicesOf(row.userId) ?? [];
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
    const chosen = channel && channel !== '*' ? valid.filter((device) => device.channels.includes(channel)) : valid;
    if (chosen.length === 0) {
      const why = valid.length === 0 ? 'every device of this user is marked invalid' : `none of this user's devices is in channel ${channel}`;
      return { reason: 'no-device', detail: why };
    }
    return chosen.map((device) => (staleBefore && device.lastSeen < staleBefore ? staleProblem(device, row.line) : deviceRecipient(device, row)));
  };
}

/** Every device of a channel ("*": all) worth trying, as an audience: a send with --channel and no file. Stale ones are skipped and counted. */
export async function* channelAudience(registry: DeviceRegistry, filter: DeviceFilter & { channel: string }): AsyncGenerator<AudienceRow> {
  const staleBefore = staleCutoff(filter);
  for (const device of registry.inChannel(filter.channel)) {
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
    vars: Object.assign(Object.create(null) as Record<string, string>, userId ? { user_id: userId } : {}, device.locale ? { locale: device.locale } : {}, row?.vars),
    fields: row?.fields ?? [device.provider, device.token, userId ?? ''],
  };
}
