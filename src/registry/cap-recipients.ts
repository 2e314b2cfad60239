import type { DeviceRecipient, RowProblem, UserRecipient } from '../domain/recipient.js';
import { capTargetsOf, deviceKey, overCap, type CampaignsReaching, type DeviceKey, type DeviceRegistry } from './registry.js';

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
  // A recipient this campaign already settled (an earlier run) is its own, not capped.
  const counted = claimKeys(devices, cap);
  const targets = capTargetsOf(counted, cap);
  const [byUser, byDevice] = await Promise.all([
    targets.userIds.length > 0 ? registry.campaignsReaching({ userIds: targets.userIds }, cap.since, cap.campaign) : new Map<string, CampaignsReaching>(),
    targets.devices.length > 0 ? registry.campaignsReaching({ devices: targets.devices }, cap.since, cap.campaign) : new Map<string, CampaignsReaching>(),
  ]);
  const refused = overCap(counted, cap, byUser, byDevice);
  applyCap(users, deviceRows, cap, (device) => refused.get(deviceKey(device)));
}

/** Devices as a claim takes them; those an earlier run of the campaign settled are not counted against the cap. */
export function claimKeys(devices: DeviceRecipient[], cap?: FrequencyCap): Array<DeviceKey & { userId: string | null; uncapped?: boolean }> {
  return devices.map((device) => ({ provider: device.provider, token: device.token, userId: device.userId ?? null, ...(cap?.settled?.(device.key) ? { uncapped: true } : {}) }));
}

/** Why a device is capped: whose pushes, how many, since when, and the last one's time. */
export function capDetail(cap: FrequencyCap, device: DeviceRecipient, count: CampaignsReaching): string {
  const whom = cap.per === 'user' && device.userId ? `user ${device.userId}` : 'this device';
  const last = count.lastAt ? `, the last at ${count.lastAt.slice(0, 16)}Z` : '';
  return `${whom} got ${count.campaigns} push${count.campaigns === 1 ? '' : 'es'} from other campaigns since ${cap.since.slice(0, 16)}Z${last} (--cap ${cap.text})`;
}

/**
 * Skips as `capped` the devices `countOf` gives another campaigns' count for: a user all of whose
 * devices are capped (by user) is one skipped row; a channel's or a query's device rows are capped
 * one by one.
 */
export function applyCap(
  users: UserRecipient[],
  deviceRows: Array<{ row: DeviceRecipient; replace(problem: RowProblem): void }>,
  cap: FrequencyCap,
  countOf: (device: DeviceRecipient) => CampaignsReaching | undefined,
): void {
  const detailOf = (device: DeviceRecipient) => {
    const count = countOf(device);
    return count && capDetail(cap, device, count);
  };
  const problem = (device: DeviceRecipient, detail: string): RowProblem => ({ kind: 'problem', line: device.line, provider: device.provider, reason: 'capped', detail });
  for (const user of users) {
    if (!Array.isArray(user.devices)) continue;
    const details = user.devices.map((device) => (device.kind === 'device' ? detailOf(device) : undefined));
    if (!details.some(Boolean)) continue;
    // Capped by user: all of the user's devices are, and the user is one skipped row.
    const whole = cap.per === 'user' && user.devices.every((device, index) => device.kind !== 'device' || details[index]);
    if (whole) user.devices = { reason: 'capped', detail: details.find(Boolean)! };
    else user.devices = user.devices.map((device, index) => (device.kind === 'device' && details[index] ? problem(device, details[index]) : device));
  }
  for (const { row, replace } of deviceRows) {
    const detail = detailOf(row);
    if (detail) replace(problem(row, detail));
  }
}
