import { join, resolve } from 'node:path';
import { providerNames, type ProviderName } from '../../audience/recipient.js';
import type { PushcastConfig } from '../../config/config.js';
import { loadConfig } from '../../config/load-config.js';
import { deriveCampaignId } from '../../engine/campaign-id.js';
import { JournalWriter, readJournal } from '../../engine/journal.js';
import { startMeasuring } from '../../engine/measure-resources.js';
import { planCampaign } from '../../engine/plan-campaign.js';
import { parseRate } from '../../engine/rate-limiter.js';
import { defaultInFlight, runCampaign, type CampaignOptions } from '../../engine/run-campaign.js';
import { parseShard, shardLabel, type Shard } from '../../engine/shard.js';
import type { Tally } from '../../engine/tally.js';
import { crossedThresholds, type Thresholds } from '../../engine/thresholds.js';
import { ConfigError, ExitCode, UsageError } from '../../errors.js';
import { ConfiguredProviders } from '../../providers/configured-providers.js';
import { allowOrigins } from '../../providers/webpush/allowed-origins.js';
import { pushcastVersion } from '../../version.js';
import { writeLine, type CliIo } from '../io.js';
import { formatPlan } from '../print-plan.js';
import { formatSummary, summaryJson } from '../print-summary.js';
import { startProgress } from '../progress.js';
import { openInputs, type InputOptions } from '../send-inputs.js';

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
  maxInvalidRate?: string;
  maxFailed?: string;
  requireAllAccepted?: boolean;
}

/** Where journals live unless --journal-dir says otherwise: beside the command, like npm's caches. */
export const defaultJournalDir = '.pushcast';

export async function sendCommand(options: SendOptions, io: CliIo, given?: { config?: PushcastConfig }): Promise<number> {
  const config = applyFlags(given?.config ?? loadConfig({ file: options.config, cwd: io.cwd, env: io.env }).config, options);
  const shard = options.shard === undefined ? undefined : parseShard(options.shard);
  if (options.shard !== undefined && !shard) throw new UsageError(`--shard takes K/N with 1 <= K <= N, such as 2/4, not "${options.shard}"`);
  const thresholds = parseThresholds(options);
  const rate = parseRates(options.rate);
  const context = () => ({ now: Math.floor(Date.now() / 1000), apnsTopic: config.apns?.topic });
  const inputs = await openInputs(options, io);
  if (inputs.files.length === 0 && options.audience === '-' && options.strict && !options.dryRun) {
    throw new UsageError('--strict reads the audience twice, so it cannot read standard input: give a file');
  }

  if (options.dryRun || options.strict) {
    const measure = startMeasuring();
    const plan = await planCampaign(inputs.audience, inputs.template, context(), { strict: options.strict });
    if (options.dryRun) {
      if (options.json) writeLine(io.stdout, JSON.stringify({ dryRun: true, message: inputs.messageLabel, ...plan, resources: measure() }));
      else io.stdout.write(formatPlan(plan, { quiet: options.quiet, messagePath: inputs.messageLabel }));
    }
    if (plan.errors.length > 0 && options.strict) {
      const first = plan.errors[0];
      writeLine(io.stderr, `pushcast: --strict: ${inputs.audience.path}, line ${first.line}: ${first.reason}: ${first.detail}; nothing was sent`);
      return ExitCode.usage;
    }
    if (options.dryRun) return ExitCode.ok;
    inputs.audience = await inputs.reopen(); // the strict check read the file: read it again to send
  }

  const providers = new ConfiguredProviders(config);
  let journal: CampaignOptions['journal'];
  try {
    const configured = await providers.verifyConfigured();
    if (configured.length === 0) {
      throw new ConfigError('no provider has credentials: set them in pushcast.config.json or the environment (see the README), or try the emulator: pushcast emulator');
    }
    const campaign = options.campaign ?? (inputs.files.length > 0 ? await deriveCampaignId(inputs.files) : undefined);
    if (campaign !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(campaign)) throw new UsageError(`--campaign may use letters, digits, . _ and -, not "${campaign}"`);
    if (campaign && options.journal !== false) {
      const path = journalPath(resolve(io.cwd, options.journalDir ?? defaultJournalDir), campaign, shard);
      const { prior, torn } = await readJournal(path);
      if (torn && !options.quiet && !options.json) writeLine(io.stderr, `pushcast: ${path}: a line cut short by a crash was ignored`);
      journal = { writer: await JournalWriter.open(path, { campaign, shard: shardLabel(shard), version: pushcastVersion }), prior, resendUncertain: Boolean(options.resendUncertain) };
    }
    const measure = startMeasuring();
    const progress = await startProgress(io, options);
    let tally: Tally;
    try {
      tally = await runCampaign(inputs.audience.rows, {
        template: inputs.template,
        context: context(),
        providers,
        allowEndpoint: allowOrigins(config.webpush?.allowedOrigins),
        inFlight: inFlightLimits(options.concurrency),
        maxAttempts: 5,
        maxRetryMs: 10 * 60_000,
        signal: io.signal,
        shard,
        rate,
        journal,
        onProgress: (current) => progress.update(current),
      });
    } finally {
      progress.stop();
    }
    const resources = measure();
    const name = campaign ?? 'one-off';
    if (options.json) writeLine(io.stdout, JSON.stringify({ ...summaryJson(tally, resources, name), ...(shard ? { shard: shardLabel(shard) } : {}) }));
    else if (options.quiet) writeLine(io.stdout, quietLine(tally, name));
    else io.stdout.write(formatSummary(tally, resources, name));
    return exitCodeFor(tally, thresholds, io);
  } finally {
    await journal?.writer.close();
    await providers.close();
  }
}

export function journalPath(dir: string, campaign: string, shard: Shard | undefined): string {
  const label = shard && shard.count > 1 ? `.shard-${shard.index}-of-${shard.count}` : '';
  return join(dir, `${campaign}${label}.jsonl`);
}

function exitCodeFor(tally: Tally, thresholds: Thresholds, io: CliIo): number {
  if (tally.status === 'interrupted') {
    writeLine(io.stderr, 'pushcast: interrupted; run the same command again to resume');
    return ExitCode.interrupted;
  }
  if (tally.status === 'stopped') {
    const fatal = tally.fatal;
    writeLine(io.stderr, fatal ? `pushcast: stopped by ${fatal.provider} (${fatal.reason}): ${fatal.fix}` : 'pushcast: stopped: a provider cannot be used');
    return ExitCode.fatal;
  }
  const crossed = crossedThresholds(tally, thresholds);
  for (const message of crossed) writeLine(io.stderr, `pushcast: ${message}`);
  return crossed.length > 0 ? ExitCode.threshold : ExitCode.ok;
}

function quietLine(tally: Tally, campaign: string): string {
  const { targeted, accepted, invalid, rejected, failed, uncertain, skipped } = tally.counts;
  return `campaign ${campaign} ${tally.status}: ${targeted} targeted, ${accepted} accepted, ${invalid} invalid, ${rejected} rejected, ${failed} failed, ${uncertain} uncertain, ${skipped} skipped`;
}

function applyFlags(config: PushcastConfig, options: SendOptions): PushcastConfig {
  if (!options.apnsTopic) return config;
  return { ...config, apns: { ...config.apns, topic: options.apnsTopic } };
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
    else if ((providerNames as readonly string[]).includes(name.trim())) (rate.perProvider ??= {})[name.trim() as ProviderName] = perSecond;
    else throw new UsageError(`--rate: unknown provider "${name}"`);
  }
  return rate;
}

function inFlightLimits(concurrency: string | undefined): Record<ProviderName, number> {
  if (concurrency === undefined) return defaultInFlight;
  const n = Number(concurrency);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency must be a whole number of recipients in flight per provider, not "${concurrency}"`);
  return Object.fromEntries(providerNames.map((name) => [name, n])) as Record<ProviderName, number>;
}
