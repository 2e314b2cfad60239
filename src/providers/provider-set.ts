import type { PushcastConfig } from '../config/config.js';
import { quoted } from '../domain/quote-value.js';
import { providerNames, type DeviceRecipient, type ProviderName } from '../domain/recipient.js';
import { campaignAnalyticsLabel, variantAnalyticsLabel } from './fcm/analytics-label.js';
import { ConfigError } from '../errors.js';
import type { RenderedMessage } from '../message/compile-template.js';
import { tokenKindMismatch } from '../message/live-activity.js';
import { createVerified, providerDescriptors } from './descriptors.js';
import { DryRunProvider } from './dry-run.js';
import type { BuildContext, BuildResult, Provider, ProviderDescriptor, ProviderSource, Refusal, Rendered } from './provider.js';
import { ProviderThreads } from './threads/provider-threads.js';

/**
 * How a run uses its providers:
 *  - `send`: for real;
 *  - `validate-only`: `pushcast check`, FCM's validate_only; providers with no such mode get only
 *    the offline format checks and their rows are skipped as `format-checked-only`;
 *  - `dry-run`: nothing leaves the machine; the first payload of each provider is kept as a sample.
 */
export type ProviderMode = 'send' | 'validate-only' | 'dry-run';

type AnyDescriptor = ProviderDescriptor<ProviderName>;

/**
 * The providers of one run, made from their descriptors: each created once, its credentials
 * verified before its first send, all closed at the end. What the engine is handed.
 */
export class ProviderSet implements ProviderSource {
  /** Providers whose credentials the configuration names. */
  readonly configuredNames: ProviderName[];
  /** In a dry run, one payload per provider as it would have been sent, the token masked. */
  readonly samples: Partial<Record<ProviderName, unknown>> = {};
  private readonly descriptors: { readonly [P in ProviderName]: ProviderDescriptor<P> };
  private readonly created = new Map<ProviderName, Promise<Provider>>();
  private readonly admissions = new Map<ProviderName, (recipient: DeviceRecipient) => Refusal | undefined>();
  /** Why each provider's rows are not sent in this run, decided once: `refuse` asks for every row. */
  private readonly refusals = new Map<ProviderName, Refusal>();
  private context: BuildContext;
  private readonly variantContexts = new Map<string, BuildContext>();
  /** --workers: the clients live in this many sending threads (0: in this one). */
  private readonly threadCount: number;
  private threads?: ProviderThreads;
  /** Aborted by `close`: a credential check still in flight (a Ctrl-C came during it) ends at once. */
  private readonly closing = new AbortController();

  constructor(
    private readonly config: PushcastConfig,
    private readonly mode: ProviderMode = 'send',
    options: { threads?: number; descriptors?: { readonly [P in ProviderName]: ProviderDescriptor<P> } } = {},
  ) {
    this.descriptors = options.descriptors ?? providerDescriptors;
    // A thread builds its clients from the built-in descriptors: others (a test's) stay in this thread.
    this.threadCount = mode === 'dry-run' || this.descriptors !== providerDescriptors ? 0 : (options.threads ?? 0);
    this.context = buildContext(config);
    this.configuredNames = providerNames.filter((name) => this.descriptors[name].isConfigured(config));
    for (const name of providerNames) {
      const admission = this.descriptor(name).admission?.(config);
      if (admission) this.admissions.set(name, admission);
      const refusal = this.unusable(name);
      if (refusal) this.refusals.set(name, refusal);
    }
  }

  /** Why none of a provider's rows are sent in this run, if they are not. */
  unusable(name: ProviderName): Refusal | undefined {
    const descriptor = this.descriptor(name);
    // Checked by format alone whatever the credentials: no request would be made for it anyway.
    if (this.mode === 'validate-only' && !descriptor.validatesWithoutDelivery) {
      return { reason: 'format-checked-only', detail: `${descriptor.title} has no dry run: only the token's format was checked, not whether it is still registered` };
    }
    if (!this.configuredNames.includes(name)) return { reason: 'provider-not-configured', detail: `no ${name} credentials are configured` };
    return undefined;
  }

  /** The providers whose rows this run sends (or, in a dry run, would send). */
  get usableNames(): ProviderName[] {
    return providerNames.filter((name) => !this.unusable(name));
  }

  refuse(recipient: DeviceRecipient): Refusal | undefined {
    return this.refusals.get(recipient.provider) ?? this.admissions.get(recipient.provider)?.(recipient);
  }

  build(message: RenderedMessage, recipient: DeviceRecipient): BuildResult<unknown> {
    const mismatch = tokenKindMismatch(message, recipient);
    if (mismatch) return { ok: false, reason: 'wrong-push-type', detail: mismatch };
    // An A/B campaign's variant is kept apart in FCM's delivery data: its own label.
    const context = recipient.variant !== undefined && this.context.fcmAnalyticsLabel !== undefined ? this.variantContext(recipient.variant) : this.context;
    return this.descriptor(recipient.provider).buildPayload(message, recipient, context);
  }

  /** The build context of a variant: the campaign's label and the variant's name (made once per variant). */
  private variantContext(variant: string): BuildContext {
    let context = this.variantContexts.get(variant);
    if (!context) {
      context = { ...this.context, fcmAnalyticsLabel: variantAnalyticsLabel(this.context.fcmAnalyticsLabel!, variant) };
      this.variantContexts.set(variant, context);
    }
    return context;
  }

  scopeOf(item: Rendered): string | undefined {
    return this.descriptor(item.provider).scopeOf?.(item);
  }

  get(name: ProviderName): Promise<Provider> {
    let provider = this.created.get(name);
    if (!provider) {
      provider = this.create(name);
      this.created.set(name, provider);
    }
    return provider;
  }

  /** Creates and verifies every provider the run will use: a bad credential stops it before anything is sent. */
  async verifyUsable(): Promise<ProviderName[]> {
    const names = this.usableNames;
    await Promise.all(names.map((name) => this.get(name)));
    return names;
  }

  async close(): Promise<void> {
    this.closing.abort();
    const providers = await Promise.allSettled(this.created.values());
    await Promise.all(providers.map((result) => (result.status === 'fulfilled' ? result.value.close().catch(() => undefined) : undefined)));
    this.created.clear();
    await this.threads?.close();
  }

  private async create(name: ProviderName): Promise<Provider> {
    const descriptor = this.descriptor(name);
    const refusal = this.unusable(name);
    if (refusal) throw new ConfigError(`${descriptor.title}: ${refusal.detail}`);
    if (this.mode === 'dry-run') return new DryRunProvider(descriptor, this.samples);
    if (this.threadCount > 0) return (this.threads ??= new ProviderThreads(this.threadCount, this.config, this.mode === 'validate-only')).open(name, this.closing.signal);
    return createVerified(descriptor, this.config, this.mode === 'validate-only', this.closing.signal);
  }

  /**
   * Once the campaign's id is known: the label every message carries where a provider keeps its
   * delivery data by label (FCM's analytics label: `given`, else the id made to FCM's grammar;
   * `false`: none). Returns the label, for the record.
   */
  labelMessages(campaign: string | undefined, given?: string | false): string | undefined {
    const label = given === false ? undefined : (given ?? (campaign ? campaignAnalyticsLabel(campaign) : undefined));
    this.context = { ...this.context, fcmAnalyticsLabel: label };
    this.variantContexts.clear();
    return label;
  }

  private descriptor(name: ProviderName): AnyDescriptor {
    return this.descriptors[name] as AnyDescriptor;
  }
}

/** What the payload builders need from the configuration. */
function buildContext(config: PushcastConfig): BuildContext {
  const format = config.webpush?.format;
  if (format !== undefined && format !== 'pushcast' && format !== 'declarative') throw new ConfigError(`webpush.format must be pushcast or declarative, not ${quoted(format)}`);
  return { apnsTopic: config.apns?.topic, webPushFormat: format };
}
