import type { DeviceRecipient, RowProblem, UserRecipient } from '../domain/recipient.js';
import { deviceKey, type CampaignsReaching, type DeviceRegistry } from './registry.js';

/** A frequency cap as a send applies it (`send --cap 2/24h`): what it counts, since when, and whose. */
export interface FrequencyCap {
  pushes: number;
  /** Other campaigns' pushes are counted from this moment on: the window before the campaign's first claim (or, before one, now). */
  since: string;
  /** Count a user's pushes over all of their devices (default), or each device's. */
  per: 'user' | 'device';
  /** This campaign's claims: its own pushes (a resumed run's) do not count against it. */
  campaign: string;
  /** As given, for messages: "2/24h". */
  text: string;
  /** Recipients (by journal key) an earlier run of the campaign settled: the journal counts them, never the cap. */
  settled?: (key: string) => boolean;
}

/**
 * Skips, as `capped`, the devices of a batch whose user (or the device itself) already got
 * `pushes` pushes from other campaigns in the window: a user capped as a whole is one skipped row;
 * a channel's or a query's device rows are capped one by one. The window ends at the campaign's
 * first claim, whichever shard or run made it, and counts what came after too, so a recipient
 * capped once stays capped when the campaign resumes, and its shards count alike.
 */
export async function capRecipients(
  registry: DeviceRegistry,
  users: UserRecipient[],
  deviceRows: Array<{ row: DeviceRecipient; replace(problem: RowProblem): void }>,
  cap: FrequencyCap,
): Promise<void> {
  const userDevices = users.flatMap((user) => (Array.isArray(user.devices) ? user.devices.filter((device): device is DeviceRecipient => device.kind === 'device') : []));
  const devices = [...userDevices, ...deviceRows.map(({ row }) => row)];
  if (devices.length === 0) return;
  const byUser = cap.per === 'user';
  const userIds = byUser ? [...new Set(devices.flatMap((device) => (device.userId ? [device.userId] : [])))] : [];
  const unowned = devices.filter((device) => !byUser || !device.userId);
  const [usersReached, devicesReached] = await Promise.all([
    userIds.length > 0 ? registry.campaignsReaching({ userIds }, cap.since, cap.campaign) : new Map<string, CampaignsReaching>(),
    unowned.length > 0 ? registry.campaignsReaching({ devices: unowned }, cap.since, cap.campaign) : new Map<string, CampaignsReaching>(),
  ]);
  const reached = (device: DeviceRecipient) => (byUser && device.userId ? usersReached.get(device.userId) : devicesReached.get(deviceKey(device)));
  const capped = (device: DeviceRecipient): string | undefined => {
    const count = reached(device);
    // A recipient this campaign already reached or settled (an earlier run) is its own, not capped.
    if (!count || count.mine || count.campaigns < cap.pushes || cap.settled?.(device.key)) return undefined;
    const whom = byUser && device.userId ? `user ${device.userId}` : 'this device';
    return `${whom} got ${count.campaigns} push${count.campaigns === 1 ? '' : 'es'} from other campaigns since ${cap.since.slice(0, 16)}Z, the last at ${count.lastAt!.slice(0, 16)}Z (--cap ${cap.text})`;
  };
  const problem = (device: DeviceRecipient, detail: string): RowProblem => ({ kind: 'problem', line: device.line, provider: device.provider, reason: 'capped', detail });
  for (const user of users) {
    if (!Array.isArray(user.devices)) continue;
    const details = user.devices.map((device) => (device.kind === 'device' ? capped(device) : undefined));
    // Capped by user: all of the user's devices are, and the user is one skipped row.
    const whole = byUser && details.some(Boolean) && user.devices.every((device, index) => device.kind !== 'device' || details[index]);
    if (whole) user.devices = { reason: 'capped', detail: details.find(Boolean)! };
    else user.devices = user.devices.map((device, index) => (device.kind === 'device' && details[index] ? problem(device, details[index]) : device));
  }
  for (const { row, replace } of deviceRows) {
    const detail = capped(row);
    if (detail) replace(problem(row, detail));
  }
}
