import { Command, Option } from 'commander';
import { pushcastVersion } from '../version.js';
import type { CliIo } from './io.js';

const sendExamples = `
Examples:
  # See what would be sent, without sending: counts, bad rows with line numbers, sample payloads
  $ pushcast send --audience users.csv --message sale.json --dry-run

  # The same, as one JSON object for scripts
  $ pushcast send --audience users.csv --message sale.json --dry-run --json | jq .skipped

  # A file with only a token column, all FCM; refuse to go on if any row is bad
  $ pushcast send --audience tokens.csv --provider fcm --message sale.json --dry-run --strict

Audience CSV (the header says what each column is):
  provider,token,user_id,locale,name        provider: fcm | apns | webpush
  platform,token,...                        platform: android | ios | web
  endpoint,p256dh,auth,...                  web push subscriptions (or one "subscription" JSON column)
  user_id,locale,name                       user IDs, resolved to devices by the device registry
  Every other column is a template variable: {{name}}, or {{default name "there"}} when a cell may be empty.

Exit codes: 0 done, 1 bad usage or input, 2 fatal provider or configuration error,
            3 a threshold was crossed, 130 interrupted (run again to resume).`;

/** The command table. Each action loads its command lazily, so `--help` never loads a provider SDK. */
export function buildProgram(io: CliIo, setResult: (code: Promise<number>) => void): Command {
  const program = new Command('pushcast')
    .description('Send push notification campaigns through FCM, APNs and Web Push from a CSV audience,\nand report which device tokens are still valid.')
    .version(pushcastVersion, '-V, --version')
    .showHelpAfterError('(run with --help for usage and examples)')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();

  program
    .command('send')
    .description('render a message for every recipient in an audience and send it (or plan it with --dry-run)')
    .option('-a, --audience <file>', 'CSV of device tokens, web push subscriptions or user IDs ("-" reads standard input)')
    .option('-m, --message <file>', 'JSON message template')
    .addOption(new Option('-p, --provider <name>', 'provider for rows that name none').choices(['fcm', 'apns', 'webpush']))
    .option('-n, --dry-run', 'read, render and check everything, print the plan, send nothing')
    .option('--strict', 'treat any bad row as an error: check the whole audience first and send nothing if one is bad')
    .option('-c, --config <file>', 'configuration file (default: ./pushcast.config.json if present)')
    .option('--apns-topic <bundle-id>', 'APNs topic (the app bundle id) for rows with no apns_topic column')
    .option('--json', 'print one JSON object on stdout and nothing else there')
    .option('-q, --quiet', 'no progress or tables: one summary line and errors')
    .addHelpText('after', sendExamples)
    .action(async (options) => {
      const { sendCommand } = await import('./commands/send.js');
      setResult(sendCommand(options, io));
    });

  program
    .command('demo')
    .description('plan the bundled example campaign (fixtures/) with --dry-run: what `npm start` runs')
    .option('--json', 'print one JSON object on stdout')
    .action(async (options) => {
      const { demoCommand } = await import('./commands/demo.js');
      setResult(demoCommand(options, io));
    });

  return program;
}
