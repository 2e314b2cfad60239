import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { openAudience, type Audience } from '../../audience/read-audience.js';
import { providerNames, type ProviderName } from '../../audience/recipient.js';
import type { PushcastConfig } from '../../config/config.js';
import { loadConfig } from '../../config/load-config.js';
import { deriveCampaignId } from '../../engine/campaign-id.js';
import { startMeasuring } from '../../engine/measure-resources.js';
import { planCampaign } from '../../engine/plan-campaign.js';
import { defaultInFlight, runCampaign } from '../../engine/run-campaign.js';
import type { Tally } from '../../engine/tally.js';
import { ConfigError, ExitCode, UsageError } from '../../errors.js';
import { CompiledTemplate } from '../../message/compile-template.js';
import { checkTemplate, loadTemplate, type MessageTemplate } from '../../message/load-template.js';
import { ConfiguredProviders } from '../../providers/configured-providers.js';
import { allowOrigins } from '../../providers/webpush/allowed-origins.js';
import { writeLine, type CliIo } from '../io.js';
import { formatPlan } from '../print-plan.js';
import { formatSummary, summaryJson } from '../print-summary.js';
import { startProgress } from '../progress.js';

export interface SendOptions {
  audience?: string;
  message?: string;
  provider?: string;
  token?: string;
  title?: string;
  body?: string;
  data?: string[];
  dryRun?: boolean;
  strict?: boolean;
  json?: boolean;
  quiet?: boolean;
  config?: string;
  apnsTopic?: string;
  campaign?: string;
  concurrency?: string;
}

export async function sendCommand(options: SendOptions, io: CliIo, given?: { config?: PushcastConfig }): Promise<number> {
  const config = applyFlags(given?.config ?? loadConfig({ file: options.config, cwd: io.cwd, env: io.env }).config, options);
  const context = () => ({ now: Math.floor(Date.now() / 1000), apnsTopic: config.apns?.topic });
  const inputs = await openInputs(options, io);

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
  try {
    const configured = await providers.verifyConfigured();
    if (configured.length === 0) {
      throw new ConfigError('no provider has credentials: set them in pushcast.config.json or the environment (see pushcast send --help), or try the emulator: pushcast emulator');
    }
    const campaign = options.campaign ?? (inputs.files.length > 0 ? await deriveCampaignId(inputs.files) : `c-${Date.now().toString(36)}`);
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
        onProgress: (current) => progress.update(current),
      });
    } finally {
      progress.stop();
    }
    const resources = measure();
    if (options.json) writeLine(io.stdout, JSON.stringify(summaryJson(tally, resources, campaign)));
    else if (options.quiet) writeLine(io.stdout, quietLine(tally, campaign));
    else io.stdout.write(formatSummary(tally, resources, campaign));
    return exitCodeFor(tally, io);
  } finally {
    await providers.close();
  }
}

function exitCodeFor(tally: Tally, io: CliIo): number {
  if (tally.status === 'interrupted') {
    writeLine(io.stderr, 'pushcast: interrupted; run the same command again to resume');
    return ExitCode.interrupted;
  }
  if (tally.status === 'stopped') {
    const fatal = tally.fatal;
    writeLine(io.stderr, fatal ? `pushcast: stopped by ${fatal.provider} (${fatal.reason}): ${fatal.fix}` : 'pushcast: stopped: a provider cannot be used');
    return ExitCode.fatal;
  }
  return ExitCode.ok;
}

function quietLine(tally: Tally, campaign: string): string {
  const { targeted, accepted, invalid, rejected, failed, skipped } = tally.counts;
  return `campaign ${campaign} ${tally.status}: ${targeted} targeted, ${accepted} accepted, ${invalid} invalid, ${rejected} rejected, ${failed} failed, ${skipped} skipped`;
}

interface Inputs {
  audience: Audience;
  template: CompiledTemplate;
  messageLabel: string;
  /** Files whose contents identify the campaign. */
  files: string[];
  reopen(): Promise<Audience>;
}

async function openInputs(options: SendOptions, io: CliIo): Promise<Inputs> {
  const defaultProvider = parseProvider(options.provider);
  if (options.token !== undefined) return singleMessageInputs(options, defaultProvider);
  if (!options.audience) throw new UsageError('send needs --audience FILE (a CSV of tokens or user IDs), or --token for one device; see pushcast send --help');
  if (!options.message) throw new UsageError('send needs --message FILE (a JSON message template); see pushcast send --help');
  const messageFile = resolve(io.cwd, options.message);
  const template = new CompiledTemplate(await loadTemplate(options.message, messageFile));
  const fromStdin = options.audience === '-';
  const audienceFile = fromStdin ? undefined : resolve(io.cwd, options.audience);
  const open = () => openAudience({ path: options.audience!, file: audienceFile, input: fromStdin ? io.stdin : undefined, defaultProvider });
  if (fromStdin && options.strict && !options.dryRun) throw new UsageError('--strict reads the audience twice, so it cannot read standard input: give a file');
  return { audience: await open(), template, messageLabel: options.message, files: audienceFile ? [audienceFile, messageFile] : [], reopen: open };
}

/** `--token T --provider P --title X --body Y`: one message to one device, for smoke tests. */
async function singleMessageInputs(options: SendOptions, provider: ProviderName | undefined): Promise<Inputs> {
  if (!provider) throw new UsageError('--token needs --provider fcm, apns or webpush');
  if (options.audience) throw new UsageError('give either --audience or --token, not both');
  const data = Object.fromEntries((options.data ?? []).map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--data takes key=value, not "${pair}"`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
  const fields: Record<string, unknown> = { title: options.title, body: options.body, data: Object.keys(data).length ? data : undefined };
  const problems = checkTemplate(JSON.parse(JSON.stringify(fields)));
  if (problems.length > 0) throw new UsageError(`the message: ${problems.join('; ')}`);
  // Placeholders mean nothing here: the text is sent as written.
  const literal = (text: unknown) => (typeof text === 'string' ? text.replace(/\{\{/g, '\\{{') : text);
  const template = new CompiledTemplate({ kind: 'notification', title: literal(options.title), body: literal(options.body), data } as MessageTemplate);
  const csv = `provider,token\n${provider},"${options.token!.replace(/"/g, '""')}"\n`;
  const open = () => openAudience({ path: '--token', input: Readable.from([csv]) });
  return { audience: await open(), template, messageLabel: '--title/--body', files: [], reopen: open };
}

function applyFlags(config: PushcastConfig, options: SendOptions): PushcastConfig {
  if (!options.apnsTopic) return config;
  return { ...config, apns: { ...config.apns, topic: options.apnsTopic } };
}

function inFlightLimits(concurrency: string | undefined): Record<ProviderName, number> {
  if (concurrency === undefined) return defaultInFlight;
  const n = Number(concurrency);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency must be a whole number of recipients in flight per provider, not "${concurrency}"`);
  return Object.fromEntries(providerNames.map((name) => [name, n])) as Record<ProviderName, number>;
}

export function parseProvider(value: string | undefined): ProviderName | undefined {
  if (value === undefined) return undefined;
  const name = value.toLowerCase();
  if (!(providerNames as readonly string[]).includes(name)) {
    throw new UsageError(`--provider must be one of ${providerNames.join(', ')}, not "${value}"`);
  }
  return name as ProviderName;
}
