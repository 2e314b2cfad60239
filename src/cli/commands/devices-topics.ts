import { loadConfig } from '../../config/load-config.js';
import { counted } from '../../domain/count-words.js';
import { maskToken } from '../../domain/recipient.js';
import { ExitCode, UsageError } from '../../errors.js';
import { parseTopic } from '../../providers/fcm/fcm-topic-target.js';
import { manageTopicSubscriptions, type TopicSubscriptions } from '../../providers/fcm/manage-topic-subscriptions.js';
import { parseDeviceQuery } from '../../registry/device-query.js';
import { checkChannel, type Device, type DeviceRegistry } from '../../registry/registry.js';
import { terminalText, writeLine, writeNotice, type CliIo } from '../io.js';
import { openRegistryFor } from '../registry-for.js';

export interface TopicsOptions {
  registry?: string;
  topic: string;
  channel?: string;
  user?: string;
  where?: string;
  config?: string;
  json?: boolean;
}

/** Refused tokens listed one by one on a terminal; the rest are counted. */
const listedErrors = 10;

/**
 * `devices topics subscribe|unsubscribe --topic T`: the registry's valid FCM devices (of a
 * channel, a user, or a query) subscribed to an FCM topic, or unsubscribed, in batches of 1,000
 * through the Instance ID API (providers/fcm/manage-topic-subscriptions.ts).
 */
export async function topicsCommand(op: 'subscribe' | 'unsubscribe', options: TopicsOptions, io: CliIo): Promise<number> {
  const topic = parseTopic(options.topic);
  if (options.user !== undefined && (options.channel !== undefined || options.where !== undefined)) throw new UsageError('give --user, or --channel and/or --where, not both');
  if (options.user === undefined && options.channel === undefined && options.where === undefined) {
    throw new UsageError('choose the devices: --channel NAME ("*": every device), --user ID or --where QUERY');
  }
  const channel = options.channel === undefined || options.channel === '*' ? options.channel : checkChannel(options.channel);
  const { config } = await loadConfig({ file: options.config, cwd: io.cwd, env: io.env, flags: [], signal: io.signal });
  const registry = await openRegistryFor(options, io, 'read');
  try {
    const where = options.where === undefined ? undefined : parseDeviceQuery(options.where, { attributes: await registry.attributeNames(), now: new Date() });
    let skipped = 0;
    const tokens = async function* (): AsyncGenerator<string> {
      for await (const device of chosenDevices(registry, { channel, where, user: options.user })) {
        if (device.provider === 'fcm' && device.valid && !device.unregisteredAt) yield device.token;
        else skipped++;
      }
    };
    const result = await manageTopicSubscriptions(config, { op, topic, tokens: tokens() }, { signal: io.signal });
    if (options.json) writeLine(io.stdout, JSON.stringify({ ...result, skipped, errorsByReason: byReason(result) }));
    else writeLine(io.stdout, terminalText(describe(result, skipped)));
    if (result.interrupted) {
      writeNotice(io, `interrupted after ${counted(result.tokens, 'token')}: running the same command again ${op}s them all again, which does no harm`);
      return ExitCode.interrupted;
    }
    return ExitCode.ok;
  } finally {
    await registry.close();
  }
}

async function* chosenDevices(
  registry: DeviceRegistry,
  chosen: { channel?: string; where?: Parameters<DeviceRegistry['selectDevices']>[0]['where']; user?: string },
): AsyncGenerator<Device> {
  if (chosen.user !== undefined) yield* await registry.devicesOf(chosen.user);
  else yield* registry.selectDevices({ channel: chosen.channel, where: chosen.where });
}

function byReason(result: TopicSubscriptions): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { reason } of result.errors) counts[reason] = (counts[reason] ?? 0) + 1;
  return counts;
}

function describe(result: TopicSubscriptions, skipped: number): string {
  const verb = result.op === 'subscribe' ? 'subscribed to' : 'unsubscribed from';
  const retries = result.retries > 0 ? `, ${counted(result.retries, 'retry', 'retries')} after FCM throttled or failed` : '';
  const lines = [
    `${result.done} of ${counted(result.tokens, 'FCM device')} ${verb} topic ${result.topic} in ${counted(result.requests, 'request')}${retries}`,
    ...(skipped > 0 ? [`${counted(skipped, 'device')} skipped: not FCM, invalid or logged out`] : []),
  ];
  if (result.errors.length > 0) {
    const reasons = Object.entries(byReason(result)).map(([reason, n]) => `${reason} ${n}`);
    lines.push(`${counted(result.errors.length, 'token')} refused by FCM: ${reasons.join(', ')}`);
    for (const { token, reason } of result.errors.slice(0, listedErrors)) lines.push(`  ${maskToken(token)}  ${reason}`);
    if (result.errors.length > listedErrors) lines.push(`  … and ${result.errors.length - listedErrors} more (--json lists them all)`);
  }
  return lines.join('\n');
}
