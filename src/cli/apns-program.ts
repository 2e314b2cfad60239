import type { Command } from 'commander';
import type { CliIo } from './io.js';

/** `pushcast apns channels create|list|read|delete`: the app's APNs broadcast channels (commands/apns-channels.ts). */
export function addApnsCommands(program: Command, io: CliIo, setResult: (code: Promise<number>) => void): void {
  const apnsChannels = program
    .command('apns')
    .description("APNs's own resources: the app's broadcast channels")
    .command('channels')
    .description('create, list, read or delete the broadcast channels (iOS 18) that send --apns-channel updates Live Activities on')
    .addHelpText(
      'after',
      `
A channel belongs to the app (apns.topic, or --app) in one APNs environment
(apns.environment); APNs keeps up to 10,000 of them, until they are deleted.
The app subscribes its Live Activities with the channel's id; one request
(send --apns-channel ID) then updates every one of them.

Examples:
  $ pushcast apns channels create --message-storage-policy 1
  $ pushcast apns channels list
  $ pushcast send --apns-channel "$CHANNEL_ID" --message score-update.json
  $ pushcast apns channels delete "$CHANNEL_ID"`,
    );
  for (const op of ['create', 'list', 'read', 'delete'] as const) {
    const command = apnsChannels.command(op === 'read' || op === 'delete' ? `${op} <id>` : op).description(
      {
        create: "create a channel for the app's Live Activities and print its id",
        list: "print the id of each of the app's channels, one a line",
        read: "print a channel's push type and message storage policy",
        delete: 'delete a channel: its subscribers get no more updates through it',
      }[op],
    );
    if (op === 'create') {
      command.option('--message-storage-policy <0|1>', 'what APNs keeps for a device that is offline: 0 nothing, 1 the latest update (default: 0)');
    }
    command
      .option('--app <bundle-id>', 'the app whose channels these are (default: apns.topic)')
      .option('-c, --config <file>', 'configuration file: the APNs key or certificate (default: ./pushcast.config.json if present)')
      .option('--json', 'print the result as JSON')
      .action(async (...args: unknown[]) => {
        const options = args[args.length - 2] as Record<string, unknown>;
        const { apnsChannelsCommand } = await import('./commands/apns-channels.js');
        setResult(apnsChannelsCommand(op, typeof args[0] === 'string' ? args[0] : undefined, options as never, io));
      });
  }
}
