import { Command, CommanderError, Option } from 'commander';
import { defaultInFlight } from '../config/defaults.js';
import { providerNames } from '../domain/recipient.js';
import { pushcastVersion } from '../version.js';
import { addApnsCommands } from './apns-program.js';
import type { CliIo } from './io.js';

const programExamples = `
Examples:
  # Start a project: a config file, a sample message.json and audience.csv
  $ pushcast init

  # See what the campaign would send, without sending anything
  $ pushcast send --audience audience.csv --message message.json --dry-run

  # Send it (the same line again resumes it; nobody gets it twice)
  $ pushcast send --audience audience.csv --message message.json

  # One message to one device: a smoke test after a release
  $ pushcast send --provider fcm --token "$TOKEN" --title Hi --body "Smoke test"

  # The campaigns sent from this folder, then one campaign's report again
  $ pushcast report
  $ pushcast report spring-sale

  # Your users' devices into the device registry
  $ pushcast devices import devices.csv

  # A local FCM, APNs and Web Push emulator to send to instead of the providers
  $ pushcast emulator

pushcast COMMAND --help shows each command's options and more examples.`;

const devicesExamples = `
Examples:
  $ pushcast devices import devices.csv
  $ pushcast devices register --user u42 --provider fcm --token "$NEW" --replaces "$OLD"
  $ pushcast devices unregister --provider fcm --token "$TOKEN"   # logout
  $ pushcast devices list --user u42
  $ pushcast devices stats
  $ pushcast devices prune --stale 90d --dry-run
  $ pushcast devices prune --stale 90d --yes`;

const sendExamples = `
Examples:
  # What would be sent, without sending: counts, bad rows by line, samples
  $ pushcast send --audience users.csv --message sale.json --dry-run

  # The same, as one JSON object for scripts
  $ pushcast send --audience users.csv --message sale.json --dry-run --json | jq .skipped

  # A file with only a token column, all FCM; send nothing if any row is bad
  $ pushcast send --audience tokens.csv --provider fcm --message sale.json --strict

  # One message to one device: a smoke test after a release
  $ pushcast send --provider apns --token 5d9c74…8948 --title "Release 4.2" --body "Smoke test"

  # One FCM message to every device subscribed to a topic: one request
  $ pushcast send --topic news --message breaking.json

  # One Live Activity update for every device on an APNs broadcast channel
  $ pushcast send --apns-channel "$CHANNEL_ID" --message score-update.json

  # From an hourly cron: each recipient at 09:00 in their own time zone, never
  # in quiet hours
  $ pushcast send --audience users.csv --message sale.json --at 09:00 --local --quiet-hours 22:00-08:00 --quiet

  # The report as one page to open or attach
  $ pushcast send --audience users.csv --message sale.json --html report.html

  # To the local emulator instead of the providers (start it: pushcast emulator)
  $ pushcast send --config pushcast.emulator.json --audience users.csv --message sale.json

Audience CSV (the header says what each column is):
  provider,token,user_id,locale,name   provider: fcm | apns | webpush
  platform,token,...                   platform: android | ios | web
  endpoint,p256dh,auth,...             web push subscriptions (or one
                                       "subscription" JSON column)
  user_id,locale,name                  user IDs, resolved to devices by the
                                       device registry
  Every other column is a template variable: {{name}}, or
  {{default name "there"}} when a cell may be empty.

Never twice: only what provably never reached a provider is retried (429 and 5xx
answers, refused connections and streams). A request with no answer (a timeout,
a reset) may have been delivered: it is reported as uncertain and sent again
only with --resend-uncertain.

Exit codes: 0 done, 1 bad usage or input (or the campaign is already running),
            2 a fatal provider, configuration or disk error, 3 a threshold was
            crossed or nothing got through, 130 interrupted (run it again to
            resume).`;

/** The widest help: the usual terminal's. */
const helpWidth = 80;

/**
 * An option whose default commander fills in, its default shown as the hand-written ones are,
 * "(default: 90 days)", never commander's JSON "(default: \"90\")".
 */
function optionWithDefault(flags: string, description: string, value: string, shown = value): Option {
  return new Option(flags, description).default(value, shown);
}

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The command table. Each action loads its command lazily, so `--help` never loads a provider SDK. */
export function buildProgram(io: CliIo, setResult: (code: Promise<number>) => void): Command {
  const program = new Command('pushcast')
    .description('Send push notification campaigns through FCM, APNs and Web Push from a CSV audience, and report which device tokens are still valid.')
    // -v as npm and most tools have it, and -V as commander had it; --verbose is long-only.
    .version(pushcastVersion, '-v, --version', 'print the version (-V too)')
    .addOption(new Option('-V').hideHelp())
    .showHelpAfterError('(run with --help for usage and examples)')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Help wraps at 80 columns, or at a narrower terminal's width: a wide one gets lines still easy to read.
      getOutHelpWidth: () => Math.min(helpWidth, io.stdout.columns || helpWidth),
      getErrHelpWidth: () => Math.min(helpWidth, io.stderr.columns || helpWidth),
    })
    .addHelpText('after', programExamples)
    .exitOverride()
    .on('option:V', () => {
      // As commander ends --version: the version on stdout, then its "version" exit.
      io.stdout.write(`${pushcastVersion}\n`);
      throw new CommanderError(0, 'commander.version', pushcastVersion);
    });

  program
    .command('send')
    .description('render a message for every recipient in an audience and send it (or plan it with --dry-run)')
    .option('-a, --audience <file>', 'CSV of device tokens, web push subscriptions or user IDs ("-" reads standard input)')
    .option('-m, --message <file>', 'JSON message template')
    .addOption(new Option('-p, --provider <name>', 'provider for rows that name none').choices(providerNames))
    .option('--encoding <name>', "the audience file's encoding when it has no byte order mark and is not UTF-8, e.g. windows-1252")
    .option('-n, --dry-run', 'read, render and check everything, print the plan, send nothing')
    .option('--topic <name>', 'one FCM message to every device subscribed to this topic (one request; no per-device outcome)')
    .option('--condition <expr>', "one FCM message to the devices whose topics meet this, e.g. \"'news' in topics && ('fa' in topics || 'ar' in topics)\" (at most 5 topics)")
    .option('--apns-channel <id>', 'one Live Activity update (or end) to every device subscribed to this APNs broadcast channel (iOS 18; one request)')
    .option('-t, --token <token>', 'a test send to this device instead of an audience (repeat it for a few; with --provider, and --title/--body or --message)', collect)
    .option('--title <text>', 'title of the test send with --token')
    .option('--body <text>', 'body of the test send with --token')
    .option('--data <key=value...>', 'with --token: the data of a --title/--body message, or the variables of a --message template')
    .option('--test-line <n>', 'with --token and --message: fill the template with the variables of this line of --audience')
    .option('--campaign <id>', 'campaign id; running the same campaign again resumes it (default: from the audience and message contents)')
    .option('--change-message', 'send this --message to the recipients the campaign has not reached, though its earlier runs sent another (the history records it)')
    .option('--resend-uncertain', 'also send again the recipients that were in flight when an earlier run died (risks a second push)')
    .option('--journal-dir <dir>', 'where campaign journals are kept (default: ./.pushcast)')
    .option('--no-journal', 'keep no journal: a re-run sends everything again')
    .option('--shard <K/N>', 'send only shard K of N: N processes on N machines split one audience with no overlap')
    .option('--rate <n>', 'sends per second of this process: 500, 30000/m, or per provider: fcm=10000,apns=2000')
    .option('--shared-rate', "--rate is for all --shard processes together (a project's quota): each takes 1/N of it")
    .option(
      '--concurrency <n>',
      `recipients in flight per provider, each per sending thread with --workers (default: ${providerNames.map((name) => `${name} ${defaultInFlight[name]}`).join(', ')})`,
    )
    .option('--workers <n>', 'threads the provider clients send from, to use more cores when they are free and the provider is remote (default: 0, the main thread)')
    .option('--request-timeout <duration>', 'a request with no answer after this long is uncertain, not resent: 30, 30s, 2m (default: 30s)')
    .option('--stall-timeout <duration>', 'stop when a provider answers nothing for this long (default: 2m)')
    .option('--max-invalid-rate <share>', 'exit 3 when more than this share of tokens is invalid, e.g. 0.1 or 10%')
    .option('--max-failed <n>', 'exit 3 when more than n recipients still fail after retries')
    .option('--require-all-accepted', 'exit 3 unless every row was accepted: for CI smoke tests')
    .option('--report <file.json>', 'write the campaign report as JSON (schema/report-v1.schema.json)')
    .option('--html <file.html>', 'write the report as one self-contained HTML page (bars, reasons, sends per second, the rows not sent)')
    .option('--invalid-out <file.csv>', 'write the tokens to prune: provider,token,user_id,reason,detail,time')
    .option('--failed-out <file.csv>', "write the recipients to send again later, in the audience's own columns")
    .option('--label <label>', "FCM's analytics label on every message, under which FCM keeps its delivery data (default: the campaign id; FCM counts at most 100 labels a day)")
    .option('--no-label', 'send FCM messages with no analytics label')
    .option('--events <file>', 'append a JSON line per recipient as it settles (outcome, reason, token), for a backend to prune tokens during the campaign ("-": standard output)')
    .option('--metrics-file <file.prom>', "write the run's counts and exit code in Prometheus' text format, atomically, for node_exporter's textfile collector")
    .option('--trust-invalid', 'prune tokens even when so many are invalid that a wrong credential or environment is likelier')
    .option('--registry <file|url>', 'device registry for user-ID audiences, channels and feedback: an SQLite file or postgres://USER@HOST/DB (default: ./pushcast.db)')
    .option('--channel <name>', 'send to the registry\'s devices in this channel ("*": every device), or only those of a user audience')
    .option('--variant <file>', 'an A/B campaign: a message template for a share of the audience; give two or more (instead of --message)', collect, [])
    .option('--split <weights>', "each --variant's share, in their order: 50,50 (default: equal)")
    .option('--holdout <share>', 'the share of the audience that gets nothing, to compare with: 10%')
    .option('--cap <pushes/window>', "skip registry recipients who got this many pushes from any campaign within the window, as capped: 2/24h (default: the config's cap)")
    .option('--no-cap', 'no frequency cap for this send (a transactional message)')
    .option('--cap-per-device', "count each device's pushes for --cap, not its user's")
    .option(
      '--where <query>',
      'send to the registry\'s devices matching a Parse-style query, e.g. \'{"platform":"ios","lastSeen":{"$gt":"30d"}}\' (with --channel or a user-ID audience: both must hold)',
    )
    .option('--at <when>', 'send nothing before then: 2026-12-01T09:00+03:30; 2026-12-01T09:00 or 09:00 with --timezone or --local')
    .option('--timezone <zone>', 'the time zone --at is read in (an IANA name: Asia/Tehran)')
    .option('--local', "read --at in each recipient's own time zone: the timezone column, else the registry device's, else --default-timezone")
    .option('--default-timezone <zone>', 'the time zone of recipients with none known (otherwise they are skipped as no-timezone)')
    .option('--quiet-hours <span>', 'defer recipients whose local time is in this span to its end, e.g. 22:00-08:00')
    .option('--late-limit <duration>', 'skip recipients whose moment passed longer ago than this, as missed-window (default: 2h)')
    .option('--spread <duration>', 'spread the sends evenly over this span after each moment, e.g. 2h (per time zone with --local)')
    .option('--wait', 'stay up and send each recipient when due; without it, each run (from cron) sends those due now and exits')
    .addOption(
      optionWithDefault(
        '--max-age <age>',
        'skip registry devices not seen for longer than this, as stale (likely uninstalled): days (90 or 90d), or 12w, 36h; 0: no limit',
        '90',
        '90 days',
      ),
    )
    .option('--no-feedback', 'do not mark invalid tokens in the device registry')
    .option('--strict', 'treat any bad row as an error: check the whole audience first and send nothing if one is bad')
    .option('-c, --config <file>', 'configuration file (default: ./pushcast.config.json if present)')
    .option('--apns-topic <bundle-id>', 'APNs topic (the app bundle id) for rows with no apns_topic column')
    .option('--json', 'print one JSON object on stdout and nothing else there')
    .option('-q, --quiet', 'no progress or tables: one summary line and errors')
    .option('--verbose', 'log each batch and each retry decision to stderr, one line each (no tokens, no secrets); no spinner')
    .addHelpText('after', sendExamples)
    .action(async (options) => {
      const { runSend } = await import('./run-send.js');
      setResult(runSend(options, io));
    });

  program
    .command('check')
    .description('report which device tokens are still valid, without delivering anything')
    .requiredOption('-a, --audience <file>', 'CSV of device tokens or web push subscriptions')
    .addOption(new Option('-p, --provider <name>', 'provider for rows that name none').choices(providerNames))
    .option('--encoding <name>', "the audience file's encoding when it has no byte order mark and is not UTF-8, e.g. windows-1252")
    .option('-c, --config <file>', 'configuration file (default: ./pushcast.config.json if present)')
    .option('--invalid-out <file.csv>', 'write the tokens to prune')
    .option('--report <file.json>', 'write the report as JSON')
    .option('--html <file.html>', 'write the report as one self-contained HTML page')
    .option('--json', 'print one JSON object on stdout and nothing else there')
    .option('-q, --quiet', 'one summary line and errors')
    .option('--verbose', 'log each batch and each retry decision to stderr, one line each')
    .option('--max-invalid-rate <share>', 'exit 3 when more than this share of tokens is invalid')
    .option('--trust-invalid', 'prune tokens even when so many are invalid that a wrong credential is likelier')
    .option('--registry <file|url>', 'device registry to mark invalid tokens in: an SQLite file or postgres://USER@HOST/DB (default: ./pushcast.db, if it exists)')
    .option('--no-feedback', 'do not mark invalid tokens in the device registry')
    .addHelpText(
      'after',
      `
FCM tokens are checked with a validate_only send: FCM answers as it would for a
real message and delivers nothing. APNs and Web Push have no such dry run, so
their rows only get the offline format checks (64 hex digits; an https endpoint
with valid keys) and are reported as format-checked-only: pushcast does not
pretend to know whether they are still registered.

Examples:
  $ pushcast check --audience tokens.csv --invalid-out prune.csv
  $ pushcast check --audience tokens.csv --json | jq .invalidByReason`,
    )
    .action(async (options) => {
      const { checkCommand } = await import('./commands/check.js');
      setResult(checkCommand(options, io));
    });

  program
    .command('report')
    .description("print a campaign's report again from its journal (after a crash too; shards merged), or with no campaign, list them")
    .argument('[campaign]', 'the campaign id, as its report or --json printed it; none: list the campaigns, the one that ran last first')
    .option('--journal-dir <dir>', "where campaign journals are kept, as for send: the config's journalDir or PUSHCAST_JOURNAL_DIR (default: ./.pushcast)")
    .option('-c, --config <file>', 'configuration file, for its journalDir (default: ./pushcast.config.json if present)')
    .option('--json', 'print the report as one JSON object (the list, as an array)')
    .option('--html <file.html>', 'also write it as one self-contained HTML page to open or attach')
    .addHelpText(
      'after',
      `
Examples:
  $ pushcast report
  $ pushcast report c-3f1a2b4c5d6e7f80
  $ pushcast report spring-sale --json | jq .counts
  $ pushcast report spring-sale --html spring-sale.html

  # The campaigns whose last run died (killed before it could report)
  $ pushcast report --json | jq -r '.[] | select(.status == "died") | .campaign'

With no campaign: one line each, the one that ran last first: its status (done,
scheduled, interrupted, stopped, or died when its last run wrote no end line),
when it last ran, its runs and counts; --json prints them as an array. A folder
with no campaigns says so and exits 0.`,
    )
    .action(async (campaign, options) => {
      const { reportCommand } = await import('./commands/report.js');
      setResult(reportCommand(campaign, options, io));
    });

  program
    .command('stats')
    .description("what FCM's delivery data says of a campaign: delivered, pending, collapsed and dropped shares of its analytics label, beside its report")
    .argument('<campaign>', 'the campaign id, as its report or --json printed it')
    .option('--journal-dir <dir>', "where campaign journals are kept, as for send: the config's journalDir or PUSHCAST_JOURNAL_DIR (default: ./.pushcast)")
    .option('-c, --config <file>', 'configuration file: the FCM service account and fcm.androidAppId (default: ./pushcast.config.json if present)')
    .option('--json', 'print the stats as one JSON object')
    .option('--html <file.html>', "also write the campaign's report page with FCM's delivery data in it")
    .addHelpText(
      'after',
      `
FCM keeps delivery data per analytics label (each FCM message of a campaign
carries its id as its label; send --label sets another), for Android devices
whose users share usage statistics, a day at a time (days end in
America/Los_Angeles), a day or more late. It needs fcm.androidAppId and the
FCM Data API enabled for the project. APNs and web push keep no such data.

Examples:
  $ pushcast stats weekly-2026-12-07
  $ pushcast stats spring-sale --json | jq .fcm.total.messageOutcomePercents
  $ pushcast stats spring-sale --html spring-sale.html
`,
    )
    .action(async (campaign, options) => {
      const { statsCommand } = await import('./commands/stats.js');
      setResult(statsCommand(campaign, options, io));
    });

  const devices = program
    .command('devices')
    .description("the device registry: users' devices, their tokens, channels and validity (SQLite, ./pushcast.db; or PostgreSQL)")
    .option(
      '--registry <file|url>',
      'an SQLite file, or a PostgreSQL URL: postgres://USER:PASSWORD@HOST:PORT/DB?schema=NAME, PG* variables filling in what it leaves out (default: ./pushcast.db, or $PUSHCAST_REGISTRY)',
    )
    .addHelpText('after', devicesExamples);
  const withRegistry = (options: Record<string, unknown>) => ({ registry: devices.opts().registry as string | undefined, ...options });
  devices
    .command('import')
    .description('add or update devices from a CSV of tokens (columns as for an audience, plus channels, platform), or from a Parse or LeanCloud _Installation export')
    .argument(
      '<file>',
      'CSV with provider,token (or endpoint/subscription), user_id, locale, channels ("news;sales")…; with --from, the export (JSON array, {"results": […]} or JSON lines)',
    )
    .option('--from <platform>', 'the file is an _Installation export of parse (Parse Server) or leancloud')
    .addOption(new Option('-p, --provider <name>', 'provider for rows that name none').choices(providerNames))
    .option('--encoding <name>', "the audience file's encoding when it has no byte order mark and is not UTF-8, e.g. windows-1252")
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pushcast devices import devices.csv\n  $ pushcast devices import --from parse _Installation.json\n  $ pushcast devices --registry /var/lib/push/devices.db import nightly-export.csv --json',
    )
    .action(async (file, options) => {
      const { importCommand } = await import('./commands/devices.js');
      setResult(importCommand(file, withRegistry(options), io));
    });
  devices
    .command('register')
    .description("register one device's token for a user; a refreshed token replaces its old one")
    .requiredOption('--user <id>', 'the user the device belongs to')
    .addOption(new Option('--provider <name>', "the device's provider").choices(providerNames).makeOptionMandatory())
    .requiredOption('--token <token>', 'the device token (for web push, the subscription JSON)')
    .option('--replaces <old-token>', 'the token this one replaces (after a reinstall or a refresh)')
    .option('--single-device', "drop the user's other devices: for apps with one device per account")
    .option('--channels <list>', 'channels the device subscribes to, comma-separated (no "/")')
    .option('--locale <locale>', "the device's locale")
    .option('--timezone <zone>', "the device's time zone")
    .option('--environment <env>', 'APNs: sandbox or production')
    .option('--app <bundle-id>', "APNs: the app's topic")
    .option('--badge <n>', 'the badge the app shows now (0 when it was opened): templates with badge "increment" count up from it')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pushcast devices register --user u42 --provider fcm --token "$NEW" --replaces "$OLD"\n  $ pushcast devices register --user u42 --provider apns --token 5d9c…8948 --environment production --single-device',
    )
    .action(async (options) => {
      const { registerCommand } = await import('./commands/devices.js');
      setResult(registerCommand(withRegistry(options) as never, io));
    });
  devices
    .command('set')
    .description("set attributes of a user's devices (those registered now) or of one device, which send --where and templates ({{plan}}) read")
    .argument('<attrs...>', 'NAME=VALUE to set (plan=pro country=IR); NAME= removes one')
    .option('--user <id>', 'every device of this user')
    .option('--token <token>', 'one device (with --provider)')
    .option('--provider <name>', 'fcm, apns or webpush (with --token)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pushcast devices set --user u42 plan=pro country=IR\n  $ pushcast devices set --user u42 plan=        # removes plan\n  $ pushcast send --message m.json --where \'{"plan":"pro"}\'',
    )
    .action(async (assignments, options) => {
      const { setCommand } = await import('./commands/devices.js');
      setResult(setCommand(assignments, withRegistry(options) as never, io));
    });
  devices
    .command('unregister')
    .description('logout (--token) or account deletion (--user): the device, or every device of the user, gets nothing until it registers again')
    .option('--token <token>', "a device's token: it logged out (with --provider)")
    .option('--provider <name>', 'fcm, apns or webpush (with --token)')
    .option('--user <id>', 'every device of this user: the account was deleted')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pushcast devices unregister --provider fcm --token "$TOKEN"   # logout\n  $ pushcast devices unregister --user u42                        # account deleted',
    )
    .action(async (options) => {
      const { unregisterCommand } = await import('./commands/devices.js');
      setResult(unregisterCommand(withRegistry(options) as never, io));
    });
  devices
    .command('list')
    .description('list devices, tokens masked, each valid, invalid, unregistered (logout, account deleted) or stale')
    .option('--user <id>', "one user's devices")
    .option('--channel <name>', 'the devices of a channel')
    .addOption(
      optionWithDefault('--max-age <age>', 'show devices not seen for longer than this as stale, as send --max-age skips them (days, or 12w, 36h); 0: none', '90', '90 days'),
    )
    .option('--json', 'print them as JSON, tokens in full, each with its state')
    .addHelpText('after', '\nExamples:\n  $ pushcast devices list --user u42\n  $ pushcast devices list --channel news --json | jq length')
    .action(async (options) => {
      const { listCommand } = await import('./commands/devices.js');
      setResult(listCommand(withRegistry(options), io));
    });
  devices
    .command('stats')
    .description('count devices valid, invalid, unregistered (logout, account deleted) and stale, in all and by provider')
    .addOption(
      optionWithDefault('--max-age <age>', 'count devices not seen for longer than this as stale, as send --max-age skips them (days, or 12w, 36h); 0: none', '90', '90 days'),
    )
    .option('--json', 'print them as JSON')
    .addHelpText('after', '\nExamples:\n  $ pushcast devices stats\n  $ pushcast devices stats --json | jq .invalidByReason')
    .action(async (options) => {
      const { statsCommand } = await import('./commands/devices.js');
      setResult(statsCommand(withRegistry(options), io));
    });
  devices
    .command('prune')
    .description('drop devices marked invalid and, with --stale, those not seen for that long; more than a tenth of the registry asks first (--yes)')
    .option('--stale <age>', 'also drop devices not seen for this long: days (90 or 90d), or 12w, 36h')
    .option('--dry-run', 'list what would be dropped, and why; delete nothing')
    .option('--yes', 'drop more than a tenth of the registry without asking (needed off a terminal: scripts, cron)')
    .option('--json', 'print the result (with --dry-run, the devices, tokens masked) as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pushcast devices prune --stale 90d --dry-run\n  $ pushcast devices prune --stale 90d\n  $ pushcast devices prune --stale 12w --yes --json   # from cron',
    )
    .action(async (options) => {
      const { pruneCommand } = await import('./commands/devices.js');
      setResult(pruneCommand(withRegistry(options), io));
    });
  const topics = devices
    .command('topics')
    .description("subscribe the registry's FCM devices to an FCM topic, or unsubscribe them, for send --topic and --condition")
    .addHelpText(
      'after',
      `
FCM keeps who is subscribed to a topic; a message to the topic (send --topic)
reaches them all with one request. Devices go 1,000 a request, within FCM's
3,000 subscriptions a second; a throttled request is tried again after a pause.

Examples:
  $ pushcast devices topics subscribe --topic news --channel news
  $ pushcast devices topics unsubscribe --topic news --user u42
  $ pushcast devices topics subscribe --topic fa --where '{"locale":"fa"}'`,
    );
  for (const op of ['subscribe', 'unsubscribe'] as const) {
    topics
      .command(op)
      .description(`${op} the chosen FCM devices ${op === 'subscribe' ? 'to' : 'from'} a topic; each token FCM refuses is listed with its reason`)
      .requiredOption('--topic <name>', 'the FCM topic: 1 to 900 of a-z A-Z 0-9 - _ . ~ %')
      .option('--channel <name>', 'the devices of this channel ("*": every device)')
      .option('--user <id>', "this user's devices")
      .option('--where <query>', 'the devices matching a Parse-style query, as send --where')
      .option('-c, --config <file>', 'configuration file: the FCM service account (default: ./pushcast.config.json if present)')
      .option('--json', 'print the result as JSON, refused tokens in full')
      .action(async (options) => {
        const { topicsCommand } = await import('./commands/devices-topics.js');
        setResult(topicsCommand(op, withRegistry(options) as never, io));
      });
  }
  devices
    .command('migrate')
    .description("bring the registry's schema up to date (a PostgreSQL registry's is created), or copy one registry into another")
    .option('--from <file|url>', 'copy every device of this registry (validity, traces, badges, dates)…')
    .option('--to <file|url>', '…into this one, then compare the counts of both')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pushcast devices --registry "$REGISTRY_URL" migrate\n  $ pushcast devices migrate --from pushcast.db --to "postgres://push@db.internal/app"',
    )
    .action(async (options) => {
      const { migrateCommand } = await import('./commands/devices.js');
      setResult(migrateCommand(withRegistry(options), io));
    });
  devices
    .command('export')
    .description('write every device as CSV, in columns devices import reads back')
    .option('--out <file>', 'write to a file instead of standard output')
    .addHelpText('after', '\nExamples:\n  $ pushcast devices export --out devices.csv\n  $ pushcast devices export | grep ",0,"   # the invalid ones')
    .action(async (options) => {
      const { exportCommand } = await import('./commands/devices.js');
      setResult(exportCommand(withRegistry(options), io));
    });

  addApnsCommands(program, io, setResult);

  program
    .command('emulator')
    .description('run a local FCM, APNs and Web Push emulator that pushcast (and your CI) can send to')
    .addOption(optionWithDefault('--host <address>', 'address to listen on', '127.0.0.1'))
    .addOption(optionWithDefault('--port <n>', 'port to listen on; 0: any free port', '0'))
    .option('--seed <text>', 'makes per-token behaviour reproducible')
    .option('--unregistered <share>', 'share of tokens that are no longer registered, e.g. 0.05 or 5%')
    .option('--bad-device-token <share>', 'share of APNs tokens answered BadDeviceToken (wrong environment)')
    .option('--too-many-requests <share>', 'share of tokens whose first attempt gets 429 with Retry-After')
    .option('--unavailable <share>', 'share of tokens whose first attempt gets 503')
    .option('--drop <share>', 'share of tokens whose first attempt finds the connection dropped (GOAWAY or reset)')
    .addOption(
      optionWithDefault(
        '--drop-by <way>',
        'how HTTP/2 connections are dropped: goaway (says which streams were not processed) or cut (the TCP connection closes without a word)',
        'goaway',
      ),
    )
    .option('--late <share>', 'share of tokens whose first attempt is delivered but answered only after --late-by')
    .option('--late-by <ms>', 'how late those answers come: longer than the client waits (default: 45000)')
    .option('--unauthorized <share>', "share of tokens refused with the provider's real 401/403 (web push: as that push service words it)")
    .option('--stall <providers>', "providers that take requests and never answer: fcm,apns,webpush or all; oauth: FCM's token endpoint (the credential check hangs)")
    .option('--goaway-storm', 'refuse every HTTP/2 stream unread (FCM, APNs, web push over HTTP/2) with REFUSED_STREAM under a GOAWAY, so the client must reconnect')
    .option('--no-apns-throttle', 'keep each APNs connection at its full concurrent streams after a rejection (APNs itself cuts it to one until a notification is accepted)')
    .option('--reset-unanswered <code>', 'reset every HTTP/2 stream (FCM, APNs, web push over HTTP/2) unprocessed, before answering: refused-stream or no-error')
    .option('--retry-after <seconds>', 'Retry-After sent with 429 and 503')
    .option('--latency <ms>', 'delay before every answer')
    .option('--dead <file>', 'tokens or endpoints (one per line) always answered as unregistered')
    .option('--log <file>', 'append every accepted message, decrypted, to this JSONL file')
    .addOption(optionWithDefault('--write-config <file>', 'where to write a pushcast config that points at the emulator', 'pushcast.emulator.json'))
    .option('--no-write-config', 'do not write the config file')
    .addHelpText(
      'after',
      `
Examples:
  # Start it; from another terminal, send it the files pushcast init wrote
  $ pushcast emulator --port 8443
  $ pushcast send --config pushcast.emulator.json -a audience.csv -m message.json

  # A harsher world: 5% dead tokens, 2% throttled, 2% unavailable, 1% dropped
  $ pushcast emulator --unregistered 5% --too-many-requests 2% --unavailable 2% --drop 1% --log delivered.jsonl

  # A hostile one: answers after the client gave up, or never; a GOAWAY storm
  $ pushcast emulator --late 10% --late-by 60000 --log delivered.jsonl
  $ pushcast emulator --stall apns
  $ pushcast emulator --goaway-storm

A request the emulator processed counts as delivered (and goes to --log)
whatever becomes of its answer: a sender that resends it shows up as a duplicate
in /_emulator/stats.`,
    )
    .action(async (options) => {
      const { emulatorCommand } = await import('./commands/emulator.js');
      setResult(emulatorCommand(options, io));
    });

  program
    .command('init')
    .description('write a starting config file, a sample message and a sample audience here')
    .option('--providers <list>', 'providers to set up: fcm,apns,webpush; asked when on a terminal (default: all)')
    .option('--force', 'overwrite files that already exist')
    .addHelpText('after', '\nExamples:\n  $ pushcast init                       # asks which providers\n  $ pushcast init --providers fcm,apns  # in a script or CI')
    .action(async (options) => {
      const { initCommand } = await import('./commands/init.js');
      setResult(initCommand(options, io));
    });

  program
    .command('config')
    .description('print the effective configuration, secrets redacted, with where each value came from')
    .option('-c, --config <file>', 'configuration file (default: ./pushcast.config.json or .yaml, or $PUSHCAST_CONFIG)')
    .option('--json', 'print it as JSON')
    .addHelpText('after', '\nExamples:\n  $ pushcast config\n  $ PUSHCAST_APNS_TOPIC=com.example.beta pushcast config --json | jq .settings')
    .action(async (options) => {
      const { configCommand } = await import('./commands/config.js');
      setResult(configCommand(options, io));
    });

  program
    .command('doctor')
    .description('check the configured credentials without any notification reaching a device, and the device registry')
    .option('-c, --config <file>', 'configuration file')
    .option('--registry <file|url>', 'the device registry to check: its connection, schema and the rights a send needs (default: ./pushcast.db, if it exists)')
    .option('--json', 'print the findings as JSON')
    .addHelpText(
      'after',
      `
FCM: an OAuth token is fetched and a validate_only message is sent to a made-up
token.
APNs: a TLS handshake (no request) shows whether this machine trusts the chain
the APNs host presents, through ca where it is set (since 2025 APNs uses the
USERTrust RSA root); then the key must sign a token, and APNs is asked to send
to a made-up token: it checks the credentials first, then answers
BadDeviceToken; nothing is delivered.
Web Push: the key pair must match; whether a push service accepts it can only be
seen on a real subscription, and doctor says so.
Registry: a PostgreSQL one must answer, have this pushcast's schema, and let the
role read and write its tables; an SQLite file must open.
Exit 0 when all is well, 2 when something is wrong.

Examples:
  $ pushcast doctor
  $ GOOGLE_APPLICATION_CREDENTIALS=ci-key.json pushcast doctor --json`,
    )
    .action(async (options) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      setResult(doctorCommand(options, io));
    });

  program
    .command('vapid-keys')
    .description('print a new VAPID key pair for Web Push')
    .option('--json', 'print {"publicKey", "privateKey"}')
    .addHelpText(
      'after',
      '\nExamples:\n  # PUSHCAST_VAPID_PUBLIC_KEY=… and PUSHCAST_VAPID_PRIVATE_KEY=…\n  $ pushcast vapid-keys >> .env\n\n  # the applicationServerKey for your site\n  $ pushcast vapid-keys --json | jq -r .publicKey',
    )
    .action(async (options) => {
      const { vapidKeysCommand } = await import('./commands/vapid-keys.js');
      setResult(vapidKeysCommand(options, io));
    });

  program
    .command('demo')
    .description('send the bundled example campaign (fixtures/) to an in-process emulator: what `npm start` runs')
    .option('--json', 'print one JSON object on stdout')
    .option('-n, --dry-run', 'only plan it')
    .addHelpText('after', '\nExamples:\n  $ pushcast demo\n  $ pushcast demo --json | jq .counts')
    .action(async (options) => {
      const { demoCommand } = await import('./commands/demo.js');
      setResult(demoCommand(options, io));
    });

  refuseShortVerbose(program.commands.find((command) => command.name() === 'send')!);
  refuseShortVerbose(program.commands.find((command) => command.name() === 'check')!);
  // Set last, so that no command inherits it: the program's own -v and -V count only before the
  // command (`pushcast send … -v` must not print the version and exit 0 in a cron job), while
  // `devices import FILE --registry DB` still finds the option of devices after its subcommand.
  return program.enablePositionalOptions();
}

/** `-v` was --verbose before it was the version: refused as commander refuses an unknown option, naming the long form. */
function refuseShortVerbose(command: Command): void {
  command.addOption(new Option('-v').hideHelp()).on('option:v', () => command.error("error: unknown option '-v'\n(Did you mean --verbose?)", { code: 'commander.unknownOption' }));
}
