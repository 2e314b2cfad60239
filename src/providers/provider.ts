import type { PushcastConfig } from '../config/config.js';
import type { Outcome } from '../domain/outcome.js';
import type { DeviceRecipient, ProviderName, SkipReason } from '../domain/recipient.js';
import type { RenderedMessage } from '../message/compile-template.js';

/**
 * A recipient with its message built for its provider, ready to send. `Payload`: what that
 * provider's builder makes (providers/<name>/payload.ts); the engine carries it without looking in.
 */
export type Rendered<P extends ProviderName = ProviderName, Payload = unknown> = {
  [K in P]: { provider: K; recipient: DeviceRecipient; payload: Payload };
}[P];

export type BuildResult<T> = { ok: true; payload: T } | { ok: false; reason: SkipReason; detail: string };

/** Settings the builders need beyond the message: configured defaults. */
export interface BuildContext {
  /** APNs topic (bundle id) for recipients whose row names none. */
  apnsTopic?: string;
  /** The web push JSON's shape: pushcast's own, or Declarative Web Push (Safari 18.4+ shows it without a service worker). */
  webPushFormat?: 'pushcast' | 'declarative';
  /** FCM's `fcm_options.analytics_label`: the campaign's, so FCM's delivery data can be read per campaign. */
  fcmAnalyticsLabel?: string;
}

/** Why a device is not sent, found before its message is rendered. */
export interface Refusal {
  reason: SkipReason;
  detail: string;
}

export interface Provider<P extends ProviderName = ProviderName, Payload = unknown> {
  readonly name: P;
  /** Recipients per `send` call: 500 for FCM's sendEach; 50 for APNs and web push, one request a recipient, whose batches are journal lines. */
  readonly maxBatch: number;
  /** Batches it sends at once to good effect: its sending threads (--workers); one if absent. */
  readonly senders?: number;
  /**
   * It holds batches before it can send them (a sending thread busy with others): `send` is handed
   * `start`, which it calls right before a batch's first request would leave. Without it, a batch
   * is taken to leave as soon as `send` is called, and `start` is done before.
   */
  readonly startsWhenReady?: boolean;
  /** Checks credentials before the first send, where the provider allows it. */
  verify?(signal: AbortSignal): Promise<void>;
  /**
   * One outcome per input, in the same order. A recipient's failure is an outcome, never a throw.
   * Once `signal` is aborted (the campaign is stopping), requests not yet started are not started:
   * they come back as `retryable` with `because: 'not-sent'`. `start` (for a provider that
   * `startsWhenReady`): called once, when the batch is about to leave; it resolves true once the
   * campaign's journal holds the batch, and false when it must not go (the campaign is stopping,
   * the journal failed): then every recipient comes back `not-sent`.
   */
  send(batch: ReadonlyArray<Rendered<P, Payload>>, signal: AbortSignal, start?: () => Promise<boolean>): Promise<Outcome[]>;
  /**
   * The provider stopped answering: ends at once every request it holds, each with what its
   * connection knows (one still queued behind an HTTP/2 server's limit, or waiting for an HTTP/1.1
   * socket, never left), so that `send` settles. Optional: a provider without it is settled by the
   * engine as maybe sent. A provider whose answers come later than its return (sending threads)
   * resolves once it has given them.
   */
  abandon?(): void | Promise<void>;
  /** Destroys every session and socket, answered or not, so the process can exit. */
  close(): Promise<void>;
}

/**
 * Everything pushcast knows of one provider, so that nothing above the providers names one:
 * the engine, the campaign and doctor work from these (providers/descriptors.ts lists them).
 */
export interface ProviderDescriptor<P extends ProviderName = ProviderName, Payload = unknown> {
  readonly name: P;
  /** As people write it: FCM, APNs, Web Push. */
  readonly title: string;
  /** Whether the configuration names this provider's credentials (read, not checked: `verify` checks them). */
  isConfigured(config: PushcastConfig): boolean;
  /**
   * Creates the client; loaded only when used, so `pushcast --help` never loads an SDK. `signal`:
   * aborted when the run closes its providers (a Ctrl-C during the credential check): a request
   * the client still makes for its credentials (an OAuth token) ends then.
   */
  create(config: PushcastConfig, options: { validateOnly?: boolean; signal?: AbortSignal }): Promise<Provider<P, Payload>>;
  /** A check on the device itself, made before its message is rendered (the web push allow-list). */
  admission?(config: PushcastConfig): (recipient: DeviceRecipient) => Refusal | undefined;
  buildPayload(message: RenderedMessage, recipient: DeviceRecipient, context: BuildContext): BuildResult<Payload>;
  /** The payload as the provider would receive it, the token masked: what a dry run shows. */
  sample(item: Rendered<P, Payload>): unknown;
  /** Where a recipient is judged for a scoped wrong-sender answer: a web push service's origin. */
  scopeOf?(item: Rendered<P, Payload>): string;
  /**
   * `pushcast check`: whether the provider can judge a token without delivering anything (FCM's
   * validate_only). Without it, only the token's format is checked.
   */
  readonly validatesWithoutDelivery: boolean;
  /** `pushcast doctor`: what verifying the credentials proved, and a token no device has to probe with (credentials are checked before tokens). */
  readonly doctor: {
    summary(config: PushcastConfig): string;
    probeToken?: string;
    unchecked?: string;
    /** What to do when the credentials cannot be read or are refused: where to get them and which settings take them. */
    setUp: string;
    /**
     * A host whose TLS chain doctor checks this machine trusts, before the credentials (which need
     * a connection it trusts): where the sends go; undefined when the config names none. `untrusted`:
     * why the provider's chain may not be trusted here and what to do, `ownCa` when the config names a ca.
     */
    tls?: {
      host(config: PushcastConfig): { url: URL; setting?: string } | undefined;
      untrusted(ownCa: boolean): { why: string; next: string };
    };
  };
}

/**
 * The providers as the engine sees them, for one run: made from the descriptors by
 * providers/provider-set.ts, so the engine names no provider.
 */
export interface ProviderSource {
  /** Why a device is not sent, decided before its message is rendered: no credentials, an endpoint not allowed. */
  refuse(recipient: DeviceRecipient): Refusal | undefined;
  /** The device's payload for its provider, from its rendered message. */
  build(message: RenderedMessage, recipient: DeviceRecipient): BuildResult<unknown>;
  scopeOf(item: Rendered): string | undefined;
  /** The provider, created and its credentials verified on first use; throws a ConfigError when they are bad. */
  get(name: ProviderName): Promise<Provider>;
}
