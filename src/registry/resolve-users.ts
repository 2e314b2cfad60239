import { deviceIdentity, keysOf, type AudienceRow, type DeviceRecipient, type UserRecipient } from '../domain/recipient.js';
import type { Device, DeviceRegistry } from './device-registry.js';

export type UserResolution = DeviceRecipient[] | { reason: 'unknown-user' | 'no-device'; detail: string };

/**
 * A user row becomes one recipient per valid device of that user (multi-device fan-out), with the
 * row's variables and, where the device knows it, the device's locale. With no registry (a dry
 * run where none exists yet), every user is unknown, as they would be in a new, empty one.
 */
export function userResolver(registry: DeviceRegistry | undefined, channel?: string): (row: UserRecipient) => UserResolution {
  return (row) => {
    const devices = registry?.devicesOf(row.userId) ?? [];
    if (devices.length === 0) return { reason: 'unknown-user', detail: `no device is registered for user ${row.userId}` };
    const valid = devices.filter((device) => device.valid);
    const chosen = channel && channel !== '*' ? valid.filter((device) => device.channels.includes(channel)) : valid;
    if (chosen.length === 0) {
      const why = valid.length === 0 ? 'every device of this user is marked invalid' : `none of this user's devices is in channel ${channel}`;
      return { reason: 'no-device', detail: why };
    }
    return chosen.map((device) => deviceRecipient(device, row));
  };
}

/** Every valid device of a channel ("*": all), as an audience: a send with --channel and no file. */
export async function* channelAudience(registry: DeviceRegistry, channel: string): AsyncGenerator<AudienceRow> {
  for (const device of registry.inChannel(channel)) yield deviceRecipient(device);
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
    vars: Object.assign(Object.create(null) as Record<string, string>, userId ? { user_id: userId } : {}, device.locale ? { locale: device.locale } : {}, row?.vars),
    fields: row?.fields ?? [device.provider, device.token, userId ?? ''],
  };
}
