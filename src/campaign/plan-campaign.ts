import { basename } from 'node:path';
import type { Audience } from '../audience/read-audience.js';
import type { PushcastConfig } from '../config/config.js';
import { initPlaceholders } from '../config/init-placeholders.js';
import type { FinalEvent } from '../domain/outcome.js';
import { providerNames, type ProviderName, type SkipReason } from '../domain/recipient.js';
import { runCampaign } from '../engine/run-campaign.js';
import { inShard, type Shard } from '../engine/shard.js';
import { ExitCode } from '../errors.js';
import { platformNotes } from '../message/platform-notes.js';
import { ProviderSet } from '../providers/provider-set.js';
import type { DeviceRegistry } from '../registry/registry.js';
import { resolveUsers } from '../registry/resolve-users.js';
import { checkBadge, checkPlaceholders, type CampaignInputs } from './campaign-inputs.js';
import type { CampaignVerdict } from './exit-code.js';
import { campaignLimits } from './limits.js';
import type { DeviceQuery } from '../registry/device-query.js';
import { requireSomeProvider } from './send-campaign.js';
import { frequencyCap, type CapSettings } from './frequency-cap.js';
import { assignVariants, VariantTally } from './variants.js';
import { deriveCampaignId } from './campaign-id.js';
import type { VariantsRecord } from '../domain/ab-record.js';

/** Bad rows listed in full in a plan; the counts always cover every row. */
export const maxListedProblems = 1000;

/** What a campaign would do: the same engine as the send, with a provider that sends nothing. */
export interface CampaignPlan {
  audience: string;
  /** The --where query, as given. */
  where?: string;
  /** An A/B campaign: each variant's share and the devices it would reach, and the holdout. */
  ab?: VariantsRecord;
  shape: Audience['shape'];
  /** What each error's `line` is (a registry device id for a channel). */
  lineIs?: Audience['lineIs'];
  /** How the file was read: its encoding (and how that was decided) and delimiter. */
  format?: Audience['format'];
  /** Data rows read (the header and blank lines not counted). */
  rows: number;
  /** Devices that would be sent to, per provider. */
  recipients: Record<ProviderName, number>;
  /** User-ID rows read, which the device registry resolves to devices. */
  users: number;
  /** Of those, the users at least one of whose devices would be sent to. */
  usersReached: number;
  skipped: Partial<Record<SkipReason, number>>;
  errors: Array<{ line: number; provider?: ProviderName; reason: string; detail: string }>;
  /** Bad rows beyond `maxListedProblems`, counted in `skipped` but not listed. */
  errorsNotListed: number;
  /** One payload per provider as it would be sent, tokens masked. */
  samples: Partial<{ [P in ProviderName]: unknown }>;
  /** Fields of the message some platforms have no equivalent for. */
  notes: string[];
  /**
   * A dry run contacts no provider, so it never checks the credentials: `note` says so, and
   * `placeholders` names each provider whose credentials are still `pushcast init`'s.
   */
  credentials: { checked: false; note: string; placeholders: Array<{ provider: ProviderName; note: string }> };
}

export interface PlanSettings {
  config: PushcastConfig;
  /** The config file read, if any: where init's placeholders would be filled in. */
  configFile?: string;
  shard?: Shard;
  /** The registry that resolves user-ID rows; none: every user is unknown, as in a new registry. */
  registry?: DeviceRegistry;
  channel?: string;
  where?: DeviceQuery;
  /** --campaign: the id the variants are drawn from (else the one the send derives). */
  campaign?: string;
  /** --cap: the plan counts whom it would skip (no campaign's own pushes excluded: a plan claims nothing). */
  cap?: CapSettings;
  /** --max-age: registry devices not seen for longer are skipped as stale. */
  maxAgeDays?: number;
  /** `--strict`: stop at the first row that would not be sent. */
  strict?: boolean;
  signal?: AbortSignal;
}

/**
 * `--dry-run` and `--strict`'s first pass: the audience through the real engine with the dry-run
 * provider, so every row the send would skip (provider-not-configured, endpoint-not-allowed, a bad
 * row, a message too large) is skipped here for the same reason. Nothing is sent or written.
 */
export async function planCampaign(inputs: CampaignInputs, settings: PlanSettings): Promise<{ plan: CampaignPlan } & CampaignVerdict> {
  checkPlaceholders(inputs);
  checkBadge(inputs);
  const { config } = settings;
  const providers = new ProviderSet(config, 'dry-run');
  // A strict send with no credentials at all is a configuration error before it is a bad row.
  if (settings.strict) requireSomeProvider(providers);
  const plan: CampaignPlan = {
    audience: inputs.audience.path,
    ...(settings.where ? { where: settings.where.text } : {}),
    shape: inputs.audience.shape,
    lineIs: inputs.audience.lineIs,
    format: inputs.audience.format,
    rows: 0,
    recipients: { fcm: 0, apns: 0, webpush: 0 },
    users: 0,
    usersReached: 0,
    skipped: {},
    errors: [],
    errorsNotListed: 0,
    samples: providers.samples,
    notes: platformNotes(inputs.template.template),
    credentials: {
      checked: false,
      note: 'credentials not checked: a dry run contacts no provider; `pushcast doctor` checks them',
      placeholders: initPlaceholders(config, settings.configFile).map((provider) => ({
        provider,
        note: `${provider}: pushcast init's placeholder, not a key: fill in ${settings.configFile ? basename(settings.configFile) : 'the configuration'}`,
      })),
    },
  };
  const firstProblem = new AbortController();
  // A user row's devices share its line: a user is reached when one of them would be sent to.
  const reachedUsers = new Set<number>();
  const variantTally = inputs.variants && new VariantTally(inputs.variants);
  const onFinal = (event: FinalEvent): void => {
    variantTally?.onFinal(event);
    if (event.kind === 'accepted' && plan.shape === 'users') reachedUsers.add(event.line);
    if (event.kind !== 'skipped') return;
    if (plan.errors.length < maxListedProblems) plan.errors.push({ line: event.line, provider: event.provider, reason: event.reason ?? 'skipped', detail: event.detail ?? '' });
    else plan.errorsNotListed++;
    // The holdout and the capped are the campaign's choice, not a problem of the row.
    if (settings.strict && event.reason !== 'holdout' && event.reason !== 'capped') firstProblem.abort();
  };
  // The plan draws the variants, and counts the cap, as the send will: from the campaign's id. Only
  // they need it: deriving it reads the whole audience file once more.
  const needsId = inputs.variants !== undefined || settings.cap !== undefined;
  const campaign = settings.campaign ?? (needsId && inputs.identity && inputs.messageFile ? await deriveCampaignId(inputs.identity, inputs.messageFile) : 'one-off');
  const audienceRows = inputs.variants ? assignVariants(inputs.audience.rows, inputs.variants, campaign, inputs.audience.header) : inputs.audience.rows;
  const rows = resolveUsers(audienceRows, settings.registry, {
    filter: { channel: settings.channel, where: settings.where, maxAgeDays: settings.maxAgeDays },
    owns: settings.shard && ((hash) => inShard(settings.shard, hash)),
    cap: settings.cap && frequencyCap(settings.cap, campaign, Date.now()),
  });
  const tally = await runCampaign(rows, {
    ...campaignLimits(config),
    rate: undefined, // nothing is sent: no reason to wait
    template: inputs.template,
    variants: inputs.variants && new Map(inputs.variants.variants.map((variant) => [variant.name, variant.template])),
    providers,
    shard: settings.shard,
    signal: settings.signal ? AbortSignal.any([settings.signal, firstProblem.signal]) : firstProblem.signal,
    onRow: (row) => {
      plan.rows++;
      if (row.kind === 'user') plan.users++;
    },
    onFinal,
  });
  for (const name of providerNames) plan.recipients[name] = tally.providers[name].accepted;
  plan.usersReached = reachedUsers.size;
  plan.skipped = tally.skippedByReason;
  if (variantTally) plan.ab = variantTally.record();

  const first = plan.errors[0];
  if (settings.strict && first) {
    return { plan, exitCode: ExitCode.usage, problems: [`--strict: ${inputs.audience.path}, line ${first.line}: ${first.reason}: ${first.detail}; nothing was sent`] };
  }
  try {
    requireSomeProvider(providers);
  } catch (error) {
    return { plan, exitCode: ExitCode.fatal, problems: [(error as Error).message] };
  }
  return { plan, exitCode: ExitCode.ok, problems: [] };
}

export function countRecipients(plan: CampaignPlan): number {
  return providerNames.reduce((sum, name) => sum + plan.recipients[name], 0);
}
