import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isProviderName, providerNames, type ProviderName } from '../../domain/recipient.js';
import type { PushcastConfig } from '../../config/config.js';
import { loadConfig, type FlagSetting } from '../../config/load-config.js';
import { stallTimeoutMs } from '../../config/timeouts.js';
import { deriveCampaignId } from '../../engine/campaign-id.js';
import { lockCampaign, type CampaignLock } from '../../engine/campaign-lock.js';
import { JournalWriter, readJournal } from '../../engine/journal.js';
import { LatencyRecorder } from '../../engine/latency.js';
import { startMeasuring } from '../../engine/measure-resources.js';
import { planCampaign } from '../../engine/plan-campaign.js';
import { parseRate } from '../../engine/rate-limiter.js';
import { defaultInFlight, runCampaign, type CampaignOptions } from '../../engine/run-campaign.js';
import { parseShard, shardLabel, type Shard } from '../../engine/shard.js';
import type { Tally } from '../../engine/tally.js';
import { crossedThresholds, type Thresholds } from '../../engine/thresholds.js';
import { ConfigError, describeFileError, ExitCode, InputError, UsageError } from '../../errors.js';
import { unknownPlaceholders } from '../../message/check-placeholders.js';
import type { MessageTemplate } from '../../message/load-template.js';
import { ConfiguredProviders } from '../../providers/configured-providers.js';
import { allowOrigins } from '../../providers/webpush/allowed-origins.js';
import { pushcastVersion } from '../../version.js';
import { checkOutputPaths, prepareJournalDir } from '../check-output-paths.js';
import { terminalText, writeLine, type CliIo } from '../io.js';
import { formatPlan } from '../print-plan.js';
import { buildRecord, RecordLists, type CampaignRecord } from '../../report/campaign-record.js';
import { formatReport } from '../../report/format-report.js';
import { ReportFiles } from '../../report/report-files.js';
import { SanityGuard } from '../../report/sanity-guard.js';
import { startProgress } from '../progress.js';
import { compileMessage, openInputs, type InputOptions, type Inputs } from '../send-inputs.js';
import { checkChannel, defaultRegistryFile, DeviceRegistry } from '../../registry/device-registry.js';
import { RegistryFeedback } from '../../registry/feedback.js';
import { channelAudience, userResolver } from '../../registry/resolve-users.js';
import { registryVariables, type Audience } from '../../audience/read-audience.js';
import type { BuildContext } from '../../providers/provider.js';

export interface SendOptions extends InputOptions {
  dryRun?: boolean;
  strict?: boolean;
  json?: boolean;
  quiet?: boolean;
  config?: string;
  apnsTopic?: string;
  campaign?: string;
  journal?: boolean;
  journalDir?: string;
  resendUncertain?: boolean;
  shard?: string;
  rate?: string;
  concurrency?: string;
  requestTimeout?: string;
  stallTimeout?: string;
  maxInvalidRate?: string;
  maxFailed?: string;
  requireAllAccepted?: boolean;
  report?: string;
  invalidOut?: string;
  failedOut?: string;
  trustInvalid?: boolean;
  /** `pushcast check`: FCM validate_only, nothing delivered; APNs and Web Push get format checks only. */
  check?: boolean;
  registry?: string;
  channel?: string;
  /** --no-feedback: leave the device registry as it is. */
  feedback?: boolean;
}

/** What `check` validates FCM tokens with: FCM checks message and token, and delivers nothing. */
const checkTemplate: MessageTemplate = { kind: 'notification', title: 'pushcast token check', body: 'validate_only: never delivered' };

/** Where journals live unless --journal-dir says otherwise: beside the command, like npm's caches. */
export const defaultJournalDir = '.pushcast';

export async function sendCommand(options: SendOptions, io: CliIo, given?: { config?: PushcastConfig }): Promise<number> {
  const config = given?.config ?? loadConfig({ file: options.config, cwd: io.cwd, env: io.env, flags: sendFlags(options) }).config;
  const shard = options.shard === undefined ? undefined : parseShard(options.shard);
  if (options.shard !== undefined && !shard) throw new UsageError(`--shard takes K/N with 1 <= K <= N, such as 2/4, not "${options.shard}"`);
  const thresholds = parseThresholds(options);
  const rate = parseRates(config.rate === undefined ? undefined : String(config.rate));
  const registryFile = resolve(io.cwd, config.registry ?? defaultRegistryFile);
  const channel = options.channel === undefined ? undefined : options.channel === '*' ? '*' : checkChannel(options.channel);
  let registry: DeviceRegistry | undefined;
  try {
    if (channel !== undefined && !options.audience) registry = DeviceRegistry.open(registryFile);
    const inputs = registry && channel !== undefined ? await channelInputs(channel, registry, options, io) : await openInputs(options.check ? { ...options, defaultTemplate: checkTemplate } : options, io);
    const unknown = unknownPlaceholders(inputs.template, inputs.audience.variables);
    if (unknown.length > 0) {
      throw new InputError(`message ${inputs.messageLabel}: ${unknown.join('; ')}; the columns of ${inputs.audience.path} are ${inputs.audience.variables.join(', ') || '(none)'}`);
    }
    // Opened when the audience needs it, or, for feedback, when one exists already.
    if (!registry && (inputs.audience.shape === 'users' || channel !== undefined || (options.feedback !== false && existsSync(registryFile)))) {
      registry = DeviceRegistry.open(registryFile);
    }
    if (inputs.files.length === 0 && options.audience === '-' && options.strict && !options.dryRun) {
      throw new UsageError('--strict reads the audience twice, so it cannot read standard input: give a file');
    }
    if (options.dryRun || options.strict) {
      const measure = startMeasuring();
      const plan = await planCampaign(inputs.audience, inputs.template, buildContext(config), { strict: options.strict });
      if (options.dryRun) {
        if (options.json) writeLine(io.stdout, JSON.stringify({ dryRun: true, message: inputs.messageLabel, ...plan, resources: measure() }));
        else io.stdout.write(terminalText(formatPlan(plan, { quiet: options.quiet, messagePath: inputs.messageLabel })));
      }
      if (plan.errors.length > 0 && options.strict) {
        const first = plan.errors[0];
        writeLine(io.stderr, terminalText(`pushcast: --strict: ${inputs.audience.path}, line ${first.line}: ${first.reason}: ${first.detail}; nothing was sent`));
        return ExitCode.usage;
      }
      if (options.dryRun) return ExitCode.ok;
      inputs.audience = await inputs.reopen(); // the strict check read the file: read it again to send
    }
    return await sendWith(inputs, { options, config, shard, thresholds, rate, registry, channel, io });
  } finally {
    registry?.close();
  }
}

function buildContext(config: PushcastConfig): BuildContext {
  const format = config.webpush?.format;
  if (format !== undefined && format !== 'pushcast' && format !== 'declarative') throw new ConfigError(`webpush.format must be pushcast or declarative, not "${String(format)}"`);
  return { apnsTopic: config.apns?.topic, webPushFormat: format };
}

/** `--channel NAME` with no audience file: every valid device subscribed to it, from the registry. */
async function channelInputs(channel: string, registry: DeviceRegistry, options: SendOptions, io: CliIo): Promise<Inputs> {
  const { template, messageLabel } = await compileMessage(options, io);
  const audience = (): Audience => ({
    path: `channel ${channel}`,
    shape: 'devices',
    header: ['provider', 'token', 'user_id'],
    variables: registryVariables,
    rows: channelAudience(registry, channel),
  });
  return { audience: audience(), template, messageLabel, files: [], reopen: async () => audience() };
}

interface SendContext {
  options: SendOptions;
  config: PushcastConfig;
  shard: Shard | undefined;
  thresholds: Thresholds;
  rate: CampaignOptions['rate'];
  registry: DeviceRegistry | undefined;
  channel: string | undefined;
  io: CliIo;
}

async function sendWith(inputs: Inputs, { options, config, shard, thresholds, rate, registry, channel, io }: SendContext): Promise<number> {
  checkOutputPaths(
    [
      { flag: '--report', path: options.report },
      { flag: '--invalid-out', path: options.invalidOut },
      { flag: '--failed-out', path: options.failedOut },
    ],
    io.cwd,
  );
  const providers = new ConfiguredProviders(options.check ? { ...config, apns: undefined, webpush: undefined } : config, { dryRun: options.check });
  let journal: CampaignOptions['journal'];
  let lock: CampaignLock | undefined;
  try {
    const campaign = options.campaign ?? (inputs.files.length > 0 ? await deriveCampaignId(inputs.files) : undefined);
    if (campaign !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(campaign)) throw new UsageError(`--campaign may use letters, digits, . _ and -, not "${campaign}"`);
    const journalFile = campaign && options.journal !== false && !options.check ? journalPath(resolve(io.cwd, config.journalDir ?? defaultJournalDir), campaign, shard) : undefined;
    if (journalFile && campaign) {
      prepareJournalDir(dirname(journalFile), config.journalDir ?? defaultJournalDir);
      // Before anything else touches the journal: a second run of the campaign would send it all again.
      lock = await lockCampaign(journalFile, shard && shard.count > 1 ? `${campaign} (shard ${shardLabel(shard)})` : campaign);
      if (lock.notice) writeLine(io.stderr, `pushcast: ${lock.notice}`);
    }
    const configured = await providers.verifyConfigured();
    if (configured.length === 0 && !options.check) {
      throw new ConfigError('no provider has credentials: set them in pushcast.config.json or the environment (see the README), or try the emulator: pushcast emulator');
    }
    if (journalFile && campaign) {
      const { prior, torn } = await readJournal(journalFile);
      if (torn && !options.quiet && !options.json) writeLine(io.stderr, `pushcast: ${journalFile}: a line cut short by a crash was ignored`);
      journal = { writer: await JournalWriter.open(journalFile, { campaign, shard: shardLabel(shard), version: pushcastVersion }), prior, resendUncertain: Boolean(options.resendUncertain) };
    }
    const guard = new SanityGuard(config.apns?.environment);
    const lists = new RecordLists();
    const out = (file: string | undefined) => (file ? resolve(io.cwd, file) : undefined);
    const files = new ReportFiles({
      invalidOut: out(options.invalidOut),
      failedOut: out(options.failedOut),
      header: inputs.audience.header,
      guard,
      trustInvalid: Boolean(options.trustInvalid),
    });
    const feedback = registry && options.feedback !== false ? new RegistryFeedback(registry, guard) : undefined;
    const latency = new LatencyRecorder();
    const startedAt = new Date();
    const measure = startMeasuring();
    const progress = await startProgress(io, options);
    let tally: Tally;
    try {
      tally = await runCampaign(inputs.audience.rows, {
        template: inputs.template,
        context: buildContext(config),
        providers,
        allowEndpoint: allowOrigins(config.webpush?.allowedOrigins),
        inFlight: inFlightLimits(config.concurrency),
        maxAttempts: 5,
        maxRetryMs: 10 * 60_000,
        signal: io.signal,
        shard,
        rate,
        journal,
        skipProviders: Object.fromEntries(
          providerNames.filter((name) => !configured.includes(name)).map((name) => [name, unusable(name, Boolean(options.check))]),
        ),
        stallMs: stallTimeoutMs(config),
        resolveUser: registry ? userResolver(registry, channel === '*' ? undefined : channel) : undefined,
        onFinal: (event) => {
          feedback?.onFinal(event);
          guard.observe(event);
          files.onFinal(event);
          lists.onFinal(event);
        },
        onProgress: (current) => progress.update(current),
        onStopping: (inFlight) => progress.stopping(inFlight),
        onBatch: (ms, count) => latency.record(ms, count),
      });
    } finally {
      progress.stop();
    }
    const percentiles = latency.percentiles();
    const resources = { ...measure(), ...(percentiles ? { latencyMs: percentiles } : {}) };
    const suspects = guard.suspects();
    const { suspectFile } = await files.finish(suspects).catch((error: unknown) => {
      writeLine(io.stderr, `pushcast: the token lists were not all written: ${(error as Error).message}`);
      return { suspectFile: undefined };
    });
    const registryReport = feedback?.apply(suspects, Boolean(options.trustInvalid));
    const record = buildRecord({
      campaign: campaign ?? 'one-off',
      shard: shardLabel(shard),
      tally,
      lists,
      suspects,
      resources,
      startedAt,
      audience: inputs.audience.path,
      message: inputs.files.length > 0 ? { file: inputs.messageLabel, sha256: await sha256(inputs.files[1]) } : undefined,
      registry: registryReport,
      files: compactFiles({ invalidOut: options.invalidOut, suspectOut: suspectFile && options.invalidOut?.replace(/(\.csv)?$/, '.suspect.csv'), failedOut: options.failedOut, journal: journal?.writer.path }),
    });
    await journal?.writer.end(record);
    if (options.report) {
      const reportFile = resolve(io.cwd, options.report);
      await writeFile(reportFile, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 }).catch((error: unknown) => {
        writeLine(io.stderr, `pushcast: the report was not written: ${describeFileError(options.report!, error)}`);
      });
    }
    if (options.json) writeLine(io.stdout, JSON.stringify(record));
    else if (options.quiet) writeLine(io.stdout, quietLine(tally, record.campaign));
    else io.stdout.write(terminalText(formatReport(record)));
    return exitCodeFor(record, tally, thresholds, Boolean(options.trustInvalid), io);
  } finally {
    await journal?.writer.close();
    await providers.close();
    await lock?.release();
  }
}

export function journalPath(dir: string, campaign: string, shard: Shard | undefined): string {
  const label = shard && shard.count > 1 ? `.shard-${shard.index}-of-${shard.count}` : '';
  return join(dir, `${campaign}${label}.jsonl`);
}

/** Why a provider's rows are not sent. */
function unusable(name: ProviderName, check: boolean): { reason: string; detail: string } {
  if (check && name !== 'fcm') {
    return { reason: 'format-checked-only', detail: `${name === 'apns' ? 'APNs' : 'Web Push'} has no dry run: only the token's format was checked, not whether it is still registered` };
  }
  return { reason: 'provider-not-configured', detail: `no ${name} credentials are configured` };
}

function exitCodeFor(record: CampaignRecord, tally: Tally, thresholds: Thresholds, trustInvalid: boolean, io: CliIo): number {
  if (tally.status === 'interrupted') {
    writeLine(io.stderr, 'pushcast: interrupted; run the same command again to resume');
    return ExitCode.interrupted;
  }
  if (tally.status === 'stopped') {
    const fatal = tally.fatal;
    writeLine(io.stderr, fatal ? `pushcast: stopped${fatal.provider ? ` by ${fatal.provider}` : ''} (${fatal.reason}): ${fatal.fix}` : 'pushcast: stopped: a provider cannot be used');
    return ExitCode.fatal;
  }
  for (const halt of tally.halted) writeLine(io.stderr, `pushcast: ${halt.provider} to ${halt.scope} stopped (${halt.reason}): ${halt.fix}`);
  if (tally.halted.length > 0) return ExitCode.fatal;
  const crossed = crossedThresholds(tally, thresholds);
  if (!trustInvalid) crossed.push(...record.suspect.map((suspect) => suspect.note));
  for (const message of crossed) writeLine(io.stderr, `pushcast: ${message}`);
  return crossed.length > 0 ? ExitCode.threshold : ExitCode.ok;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

function compactFiles(files: NonNullable<CampaignRecord['files']>): CampaignRecord['files'] {
  const present = Object.entries(files).filter(([, value]) => value !== undefined);
  return present.length > 0 ? Object.fromEntries(present) : undefined;
}

function quietLine(tally: Tally, campaign: string): string {
  const { targeted, accepted, invalid, rejected, failed, uncertain, skipped } = tally.counts;
  return `campaign ${campaign} ${tally.status}: ${targeted} targeted, ${accepted} accepted, ${invalid} invalid, ${rejected} rejected, ${failed} failed, ${uncertain} uncertain, ${skipped} skipped`;
}

/** The flags that are settings too: they override the environment and the config file. */
export function sendFlags(options: SendOptions): FlagSetting[] {
  return [
    { path: 'apns.topic', flag: '--apns-topic', value: options.apnsTopic },
    { path: 'concurrency', flag: '--concurrency', value: options.concurrency === undefined ? undefined : parseConcurrency(options.concurrency) },
    { path: 'rate', flag: '--rate', value: options.rate },
    { path: 'journalDir', flag: '--journal-dir', value: options.journalDir },
    { path: 'requestTimeout', flag: '--request-timeout', value: options.requestTimeout },
    { path: 'stallTimeout', flag: '--stall-timeout', value: options.stallTimeout },
    { path: 'registry', flag: '--registry', value: options.registry },
  ];
}

function parseThresholds(options: SendOptions): Thresholds {
  const thresholds: Thresholds = { requireAllAccepted: options.requireAllAccepted };
  if (options.maxInvalidRate !== undefined) {
    const rate = Number(options.maxInvalidRate.endsWith('%') ? Number(options.maxInvalidRate.slice(0, -1)) / 100 : options.maxInvalidRate);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new UsageError(`--max-invalid-rate is a share between 0 and 1 (or a percentage), not "${options.maxInvalidRate}"`);
    thresholds.maxInvalidRate = rate;
  }
  if (options.maxFailed !== undefined) {
    const n = Number(options.maxFailed);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--max-failed is a whole number, not "${options.maxFailed}"`);
    thresholds.maxFailed = n;
  }
  return thresholds;
}

/** `--rate 500` for all providers together, or `--rate fcm=10000,apns=2000` per provider. */
function parseRates(value: string | undefined): CampaignOptions['rate'] {
  if (value === undefined) return undefined;
  const rate: NonNullable<CampaignOptions['rate']> = {};
  for (const part of value.split(',')) {
    const [name, amount] = part.includes('=') ? part.split('=') : [undefined, part];
    const perSecond = parseRate(amount);
    if (perSecond === undefined) throw new UsageError(`--rate takes sends per second such as 500, 500/s or 30000/m, not "${amount}"`);
    if (name === undefined) rate.total = perSecond;
    else if (isProviderName(name.trim())) (rate.perProvider ??= {})[name.trim() as ProviderName] = perSecond;
    else throw new UsageError(`--rate: unknown provider "${name}"`);
  }
  return rate;
}

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency must be a whole number of recipients in flight per provider, not "${value}"`);
  return n;
}

function inFlightLimits(concurrency: number | undefined): Record<ProviderName, number> {
  if (concurrency === undefined) return defaultInFlight;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`concurrency must be a whole number of recipients in flight per provider, not ${concurrency}`);
  return Object.fromEntries(providerNames.map((name) => [name, concurrency])) as Record<ProviderName, number>;
}
