import { loadConfig } from '../../config/load-config.js';
import { ExitCode, UsageError } from '../../errors.js';
import { openApnsChannelClient, type ApnsChannelClient } from '../../providers/apns/apns-channel-client.js';
import { createApnsChannel, deleteApnsChannel, listApnsChannels, readApnsChannel, type MessageStoragePolicy } from '../../providers/apns/manage-apns-channels.js';
import { terminalText, writeLine, writeNotice, type CliIo } from '../io.js';

export interface ApnsChannelsOptions {
  config?: string;
  /** --app: the bundle id, instead of apns.topic. */
  app?: string;
  /** create: --message-storage-policy 0 or 1. */
  messageStoragePolicy?: string;
  json?: boolean;
}

export type ApnsChannelsOp = 'create' | 'list' | 'read' | 'delete';

/**
 * `pushcast apns channels create|list|read|delete`: the app's APNs broadcast channels (iOS 18),
 * through Apple's channel management API (providers/apns/manage-apns-channels.ts). A channel's id
 * goes to the app, whose Live Activities subscribe with it; `send --apns-channel ID` updates them all.
 */
export async function apnsChannelsCommand(op: ApnsChannelsOp, id: string | undefined, options: ApnsChannelsOptions, io: CliIo): Promise<number> {
  const policy = op === 'create' ? storagePolicy(options.messageStoragePolicy) : undefined;
  const { config } = await loadConfig({ file: options.config, cwd: io.cwd, env: io.env, flags: [], signal: io.signal });
  const client = await openApnsChannelClient(config, { bundleId: options.app });
  try {
    const where = { app: client.bundleId, environment: client.environment };
    switch (op) {
      case 'create': {
        const created = await createApnsChannel(client, policy!);
        if (options.json) writeLine(io.stdout, JSON.stringify({ id: created, messageStoragePolicy: policy, ...where }));
        else {
          writeLine(io.stdout, terminalText(created));
          writeNotice(io, `channel created for ${client.bundleId} (${client.environment}): the app subscribes its Live Activities with this id`);
        }
        return ExitCode.ok;
      }
      case 'list': {
        const ids = await listApnsChannels(client);
        if (options.json) writeLine(io.stdout, JSON.stringify({ channels: ids, ...where }));
        else if (ids.length === 0) writeNotice(io, `${client.bundleId} has no broadcast channel in the ${client.environment} environment`);
        else for (const channel of ids) writeLine(io.stdout, terminalText(channel));
        return ExitCode.ok;
      }
      case 'read': {
        const info = await readApnsChannel(client, channelId(id, op));
        if (options.json) writeLine(io.stdout, JSON.stringify({ ...info, ...where }));
        else writeLine(io.stdout, terminalText(describeChannel(info, client)));
        return ExitCode.ok;
      }
      case 'delete': {
        const channel = channelId(id, op);
        await deleteApnsChannel(client, channel);
        if (options.json) writeLine(io.stdout, JSON.stringify({ deleted: channel, ...where }));
        else writeLine(io.stdout, terminalText(`deleted channel ${channel} of ${client.bundleId} (${client.environment})`));
        return ExitCode.ok;
      }
    }
  } finally {
    await client.close();
  }
}

function storagePolicy(value: string | undefined): MessageStoragePolicy {
  if (value === undefined || value === '0') return 0;
  if (value === '1') return 1;
  throw new UsageError(`--message-storage-policy is 0 (APNs keeps no message for an offline device) or 1 (it keeps the latest), not ${JSON.stringify(value)}`);
}

function channelId(id: string | undefined, op: ApnsChannelsOp): string {
  if (!id) throw new UsageError(`apns channels ${op} takes the channel's id: pushcast apns channels list shows them`);
  return id;
}

function describeChannel(info: Awaited<ReturnType<typeof readApnsChannel>>, client: ApnsChannelClient): string {
  const stored = info.messageStoragePolicy === 1 ? '1 (the latest message is kept for an offline device)' : info.messageStoragePolicy === 0 ? '0 (no message is kept)' : 'unknown';
  return [`channel ${info.id} of ${client.bundleId} (${client.environment})`, `  push type        ${info.pushType ?? 'unknown'}`, `  message storage  ${stored}`].join('\n');
}
