import { resolve } from 'node:path';
import { openAudience } from '../../audience/read-audience.js';
import { providerNames, type ProviderName } from '../../audience/recipient.js';
import { CompiledTemplate } from '../../message/compile-template.js';
import { loadTemplate } from '../../message/load-template.js';
import { planCampaign } from '../../engine/plan-campaign.js';
import { startMeasuring } from '../../engine/measure-resources.js';
import { ExitCode, UsageError } from '../../errors.js';
import { writeLine, type CliIo } from '../io.js';
import { formatPlan } from '../print-plan.js';

export interface SendOptions {
  audience?: string;
  message?: string;
  provider?: string;
  dryRun?: boolean;
  strict?: boolean;
  json?: boolean;
  quiet?: boolean;
  apnsTopic?: string;
}

export async function sendCommand(options: SendOptions, io: CliIo): Promise<number> {
  if (!options.audience) throw new UsageError('send needs --audience FILE (a CSV of tokens or user IDs); see pushcast send --help');
  if (!options.message) throw new UsageError('send needs --message FILE (a JSON message template); see pushcast send --help');
  const defaultProvider = parseProvider(options.provider);

  const template = new CompiledTemplate(await loadTemplate(options.message, resolve(io.cwd, options.message)));
  const fromStdin = options.audience === '-';
  const audience = await openAudience({
    path: options.audience,
    file: fromStdin ? undefined : resolve(io.cwd, options.audience),
    input: fromStdin ? io.stdin : undefined,
    defaultProvider,
  });

  if (!options.dryRun) {
    throw new UsageError('sending needs provider credentials, which this build does not read yet: run with --dry-run');
  }
  const measure = startMeasuring();
  const plan = await planCampaign(audience, template, { now: Math.floor(Date.now() / 1000), apnsTopic: options.apnsTopic }, { strict: options.strict });
  if (options.json) writeLine(io.stdout, JSON.stringify({ dryRun: true, message: options.message, ...plan, resources: measure() }));
  else io.stdout.write(formatPlan(plan, { quiet: options.quiet, messagePath: options.message }));

  if (options.strict && plan.errors.length > 0) {
    const first = plan.errors[0];
    writeLine(io.stderr, `pushcast: --strict: ${options.audience}, line ${first.line}: ${first.reason}: ${first.detail}`);
    return ExitCode.usage;
  }
  return ExitCode.ok;
}

export function parseProvider(value: string | undefined): ProviderName | undefined {
  if (value === undefined) return undefined;
  const name = value.toLowerCase();
  if (!(providerNames as readonly string[]).includes(name)) {
    throw new UsageError(`--provider must be one of ${providerNames.join(', ')}, not "${value}"`);
  }
  return name as ProviderName;
}
