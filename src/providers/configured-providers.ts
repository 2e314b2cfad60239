import { providerNames, type ProviderName } from '../domain/recipient.js';
import type { PushcastConfig } from '../config/config.js';
import type { ProviderSource } from '../engine/run-campaign.js';
import type { Provider } from './provider.js';

interface ProviderOptions {
  /** FCM validate_only: checked by the provider, not delivered. */
  dryRun?: boolean;
}

/** Each provider's factory, loaded only when used so `pushcast --help` never loads an SDK. */
const factories: { [P in ProviderName]: (config: PushcastConfig, options: ProviderOptions) => Promise<Provider<P>> } = {
  fcm: async (config, options) => (await import('./fcm/create-fcm.js')).createFcmProvider(config, options),
  apns: async (config) => (await import('./apns/create-apns.js')).createApnsProvider(config),
  webpush: async (config) => (await import('./webpush/create-webpush.js')).createWebPushProvider(config),
};

/** Whether the configuration says anything about a provider's credentials. */
export function isConfigured(name: ProviderName, config: PushcastConfig): boolean {
  if (name === 'fcm') return Boolean(config.fcm?.serviceAccount);
  if (name === 'apns') return Boolean(config.apns?.key || config.apns?.cert);
  return Boolean(config.webpush?.vapidPublicKey || config.webpush?.vapidPrivateKey);
}

/** The providers a run uses: each created once, its credentials verified before its first send, all closed at the end. */
export class ConfiguredProviders implements ProviderSource {
  private readonly created = new Map<ProviderName, Promise<Provider>>();

  constructor(
    private readonly config: PushcastConfig,
    private readonly options: ProviderOptions = {},
  ) {}

  get configuredNames(): ProviderName[] {
    return providerNames.filter((name) => isConfigured(name, this.config));
  }

  get(name: ProviderName): Promise<Provider | undefined> {
    if (!isConfigured(name, this.config)) return Promise.resolve(undefined);
    let provider = this.created.get(name);
    if (!provider) {
      provider = (factories[name] as (config: PushcastConfig, options: ProviderOptions) => Promise<Provider>)(this.config, this.options).then(async (created) => {
        try {
          await created.verify?.(new AbortController().signal);
        } catch (error) {
          await created.close().catch(() => undefined);
          throw error;
        }
        return created;
      });
      this.created.set(name, provider);
    }
    return provider;
  }

  /** Creates and verifies every configured provider: a bad credential stops the run before anything is sent. */
  async verifyConfigured(): Promise<ProviderName[]> {
    const names = this.configuredNames;
    await Promise.all(names.map((name) => this.get(name)));
    return names;
  }

  async close(): Promise<void> {
    const providers = await Promise.allSettled(this.created.values());
    await Promise.all(providers.map((result) => (result.status === 'fulfilled' ? result.value.close().catch(() => undefined) : undefined)));
    this.created.clear();
  }
}
