import type { FinalEvent } from '../domain/outcome.js';
import type { AudienceRow, DeviceRecipient, ProviderName, SkipReason } from '../domain/recipient.js';
import type { Tally } from '../domain/tally.js';
import type { Decision } from '../domain/decision.js';
import type { JournalWriter } from '../journal/journal.js';
import type { PriorIndex } from '../journal/prior-index.js';
import type { CompiledTemplate } from '../message/compile-template.js';
import type { ProviderSource } from '../providers/provider.js';
import type { Shard } from './shard.js';

/** What one run of a campaign is given (engine/run-campaign.ts): its message, providers, limits, journal and listeners. */
export interface CampaignOptions {
  template: CompiledTemplate;
  /** An A/B campaign's templates by variant: a recipient with a `variant` gets its own. */
  variants?: ReadonlyMap<string, CompiledTemplate>;
  /** The providers, as descriptors made into one run's set (providers/provider-set.ts). */
  providers: ProviderSource;
  /** Recipients in flight at once, per provider. */
  inFlight: Record<ProviderName, number>;
  /** Attempts per recipient, the first included. */
  maxAttempts: number;
  /** No retry starts later than this after a recipient's first attempt. */
  maxRetryMs: number;
  signal?: AbortSignal;
  /** Only the recipients of this shard are sent; the others belong to other processes. */
  shard?: Shard;
  /** Sends per second: across providers, and per provider. */
  rate?: { total?: number; perProvider?: Partial<Record<ProviderName, number>> };
  /**
   * A provider with requests outstanding and no answer at all for this long is stalled: its
   * requests in flight become uncertain, its queued recipients fail, and the campaign stops.
   */
  stallMs: number;
  /**
   * Something the campaign depends on besides the journal (the device registry) that tells when
   * it fails: the campaign stops as it does for a full disk (drain, report, exit 2), resumable.
   */
  stopOn?: { reason: string; onFailure(listener: (error: Error) => void): void };
  /** The campaign's journal, and what earlier runs of it left. */
  journal?: { writer: JournalWriter; prior: Pick<PriorIndex, 'get'>; resendUncertain: boolean };
  /**
   * When each recipient is due (a scheduled campaign): now, later (`deferred`, sent by a later
   * run), or never (`missed-window`, `no-timezone`). A late one's TTL counts from its own moment.
   */
  schedule?(
    recipient: DeviceRecipient,
  ): { kind: 'due'; lateMs: number } | { kind: 'deferred'; dueAt: number } | { kind: 'hold'; dueAt: number; inMs: number } | { kind: 'skip'; reason: SkipReason; detail: string };
  /** Told each row of this shard as it is read. */
  onRow?(row: AudienceRow): void;
  /**
   * When the campaign stops early, read the rest of the audience without sending, so that every
   * row is counted (those not reached as skipped `not-sent`, to --failed-out) and the report can
   * say which lines were not reached. Off for a plan, which stops at its first problem on purpose.
   */
  countUnreached?: boolean;
  onFinal?(event: FinalEvent): void;
  onProgress?(tally: Tally): void;
  /** Told once, when the campaign starts stopping (Ctrl-C, a fatal answer), how many recipients are still in flight. */
  onStopping?(inFlight: number): void;
  /** Told how long each batch took to answer, and for how many messages. */
  onBatch?(ms: number, count: number): void;
  /** Told each decision (a batch answered, a retry, a pause, a give-up): for --verbose and the progress line. */
  onDecision?(decision: Decision): void;
  random?: () => number;
}
