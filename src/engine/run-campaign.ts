import type { AudienceRow, DeviceRecipient, ProviderName } from '../audience/recipient.js';
import type { CompiledTemplate } from '../message/compile-template.js';
import type { OriginCheck } from '../providers/webpush/allowed-origins.js';
import type { BuildContext, Outcome, Provider, Rendered } from '../providers/provider.js';
import { ConfigError } from '../errors.js';
import { prepareRecipient } from './prepare-recipient.js';
import { retryDelay } from './retry-delay.js';
import { countFinal, emptyTally, type FinalKind, type Tally } from './tally.js';

/** Where the engine gets a provider: created and verified on first use; undefined when it has no configuration. */
export interface ProviderSource {
  get(name: ProviderName): Promise<Provider | undefined>;
}

/** A recipient's last word in this campaign. */
export interface FinalEvent {
  kind: FinalKind;
  line: number;
  provider?: ProviderName;
  recipient?: DeviceRecipient;
  reason?: string;
  detail?: string;
  /** Provider's id for an accepted message. */
  id?: string;
  attempts: number;
}

export interface CampaignOptions {
  template: CompiledTemplate;
  context: BuildContext;
  providers: ProviderSource;
  allowEndpoint: OriginCheck;
  /** Recipients in flight at once, per provider. */
  inFlight: Record<ProviderName, number>;
  /** Attempts per recipient, the first included. */
  maxAttempts: number;
  /** No retry starts later than this after a recipient's first attempt. */
  maxRetryMs: number;
  signal?: AbortSignal;
  onFinal?(event: FinalEvent): void;
  onProgress?(tally: Tally): void;
  random?: () => number;
}

export const defaultInFlight: Record<ProviderName, number> = { fcm: 1000, apns: 200, webpush: 200 };

/**
 * Invalid-token answers that, when every recipient of a provider gets them, mean the sender's
 * configuration is wrong rather than the tokens: the campaign stops instead of pruning them all.
 */
const wrongSenderReasons: Record<string, string> = {
  'vapid-key-mismatch': 'every subscription rejected the VAPID key: they were made with another key pair; set webpush.vapidPublicKey and webpush.vapidPrivateKey to the pair your site subscribes with',
  'sender-id-mismatch': 'every token belongs to another Firebase project: use that project\'s service account (fcm.serviceAccount) or fcm.projectId',
  DeviceTokenNotForTopic: 'every token belongs to another app: set apns.topic to the bundle id the tokens were issued for',
};
/** Answers seen before deciding whether a wrong-sender answer is universal. */
const wrongSenderWindow = 20;
/** Retryable reasons that speak for the whole provider, not one device: everything waits. */
const providerWideWaits = new Set(['quota-exceeded', 'too-many-requests']);

interface Work {
  rendered: Rendered;
  attempts: number;
  firstAttemptAt?: number;
}

class Lane {
  pending: Work[] = [];
  inFlight = 0;
  retriesWaiting = new Set<NodeJS.Timeout>();
  retryWork = new Map<NodeJS.Timeout, Work>();
  pausedUntil = 0;
  provider?: Promise<Provider | undefined>;
  batchSize = 1;
  wrongSender = { seen: 0, suspicious: 0, decided: false, universal: false, held: [] as Array<[Work, Outcome & { kind: 'invalid-token' }]> };
  constructor(readonly name: ProviderName) {}
}

export async function runCampaign(rows: AsyncIterable<AudienceRow>, options: CampaignOptions): Promise<Tally> {
  return new CampaignRun(options).run(rows);
}

class CampaignRun {
  private readonly tally = emptyTally();
  private readonly lanes = new Map<ProviderName, Lane>();
  private stopping = false;
  private wake?: () => void;
  private readonly random: () => number;

  constructor(private readonly options: CampaignOptions) {
    this.random = options.random ?? Math.random;
    options.signal?.addEventListener('abort', () => this.stop('interrupted'), { once: true });
  }

  async run(rows: AsyncIterable<AudienceRow>): Promise<Tally> {
    for await (const row of rows) {
      if (this.stopping) break;
      if (row.kind === 'problem') {
        this.final({ kind: 'skipped', line: row.line, provider: row.provider, reason: row.reason, detail: row.detail, attempts: 0 });
        continue;
      }
      if (row.kind === 'user') {
        this.final({ kind: 'skipped', line: row.line, reason: 'needs-registry', detail: 'user-ID audiences need the device registry', attempts: 0 });
        continue;
      }
      const prepared = prepareRecipient(this.options.template, row, this.options.context);
      if ('kind' in prepared) {
        this.final({ kind: 'skipped', line: row.line, provider: row.provider, reason: prepared.reason, detail: prepared.detail, attempts: 0 });
        continue;
      }
      if (row.provider === 'webpush' && !this.options.allowEndpoint(row.token)) {
        this.final({
          kind: 'skipped',
          line: row.line,
          provider: 'webpush',
          recipient: row,
          reason: 'endpoint-not-allowed',
          detail: `${new URL(row.token).origin} is not a known push service; add it to webpush.allowedOrigins to send there`,
          attempts: 0,
        });
        continue;
      }
      const lane = await this.laneFor(row.provider);
      lane.pending.push({ rendered: prepared, attempts: 0 });
      if (lane.pending.length >= lane.batchSize) await this.dispatch(lane, false);
    }
    await this.drain();
    return this.tally;
  }

  private async laneFor(name: ProviderName): Promise<Lane> {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = new Lane(name);
      this.lanes.set(name, lane);
      lane.provider = this.options.providers.get(name).catch((error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        this.stop('stopped', { provider: name, reason: 'configuration', fix: error.message });
        return undefined;
      });
      const provider = await lane.provider;
      lane.batchSize = Math.max(1, Math.min(provider?.maxBatch ?? 500, this.options.inFlight[name]));
    }
    return lane;
  }

  /** Sends full batches (or, with `flush`, whatever is pending) as capacity allows. Waiting here is the backpressure. */
  private async dispatch(lane: Lane, flush: boolean): Promise<void> {
    while (lane.pending.length >= lane.batchSize || (flush && lane.pending.length > 0)) {
      if (this.stopping) return this.abandonPending(lane);
      const size = Math.min(lane.batchSize, lane.pending.length);
      const now = Date.now();
      if (lane.inFlight + size > this.options.inFlight[lane.name] || now < lane.pausedUntil) {
        if (now < lane.pausedUntil) setTimeout(() => this.notify(), lane.pausedUntil - now).unref();
        await this.changed();
        continue;
      }
      this.launch(lane, lane.pending.splice(0, size));
    }
  }

  private launch(lane: Lane, batch: Work[]): void {
    lane.inFlight += batch.length;
    const send = async (): Promise<Outcome[]> => {
      const provider = await lane.provider;
      if (!provider) return batch.map(() => ({ kind: 'fatal', reason: 'provider-not-configured', fix: `${lane.name} has no credentials configured` }));
      const now = Date.now();
      for (const work of batch) {
        if (work.attempts > 0) this.tally.retries++;
        work.firstAttemptAt ??= now;
      }
      try {
        return await provider.send(batch.map((work) => work.rendered) as never, this.options.signal ?? new AbortController().signal);
      } catch (error) {
        // A provider must answer per recipient; a throw is a transport failure for the whole batch.
        return batch.map(() => ({ kind: 'retryable', reason: 'network-error', detail: (error as Error).message }));
      }
    };
    void send()
      .then((outcomes) => this.settle(lane, batch, outcomes))
      .finally(() => {
        lane.inFlight -= batch.length;
        this.notify();
      });
  }

  private settle(lane: Lane, batch: Work[], outcomes: Outcome[]): void {
    batch.forEach((work, index) => {
      work.attempts++;
      const outcome: Outcome = outcomes[index] ?? { kind: 'retryable', reason: 'no-answer' };
      const { recipient } = work.rendered;
      const base = { line: recipient.line, provider: lane.name, recipient, attempts: work.attempts };
      switch (outcome.kind) {
        case 'accepted':
          this.watchWrongSender(lane, false);
          return this.final({ ...base, kind: 'accepted', id: outcome.id });
        case 'invalid-token':
          if (wrongSenderReasons[outcome.reason] && !lane.wrongSender.decided) {
            lane.wrongSender.held.push([work, outcome]);
            return this.watchWrongSender(lane, true);
          }
          if (wrongSenderReasons[outcome.reason] && lane.wrongSender.universal) {
            // The sender is wrong, not the token: never put it on the prune list.
            return this.final({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.detail });
          }
          this.watchWrongSender(lane, false);
          return this.final({ ...base, kind: 'invalid', reason: outcome.reason, detail: outcome.detail });
        case 'rejected-message':
          this.watchWrongSender(lane, false);
          return this.final({ ...base, kind: 'rejected', reason: outcome.reason, detail: outcome.detail });
        case 'fatal':
          this.stop('stopped', { provider: lane.name, reason: outcome.reason, fix: outcome.fix });
          return this.final({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.fix });
        case 'retryable':
          return this.retryOrFail(lane, work, outcome);
      }
    });
    this.options.onProgress?.(this.tally);
  }

  private retryOrFail(lane: Lane, work: Work, outcome: Outcome & { kind: 'retryable' }): void {
    const { recipient } = work.rendered;
    if (outcome.unprocessed) work.attempts--; // refused unread: no attempt was spent, only time
    const delay = outcome.unprocessed ? 0 : retryDelay(work.attempts, outcome.retryAfterMs, this.random);
    const deadline = (work.firstAttemptAt ?? Date.now()) + this.options.maxRetryMs;
    if (this.stopping || work.attempts >= this.options.maxAttempts || Date.now() + delay > deadline) {
      return this.final({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: outcome.reason, detail: outcome.detail, attempts: work.attempts });
    }
    if (providerWideWaits.has(outcome.reason)) lane.pausedUntil = Math.max(lane.pausedUntil, Date.now() + delay);
    const timer = setTimeout(() => {
      lane.retriesWaiting.delete(timer);
      lane.retryWork.delete(timer);
      lane.pending.push(work);
      this.notify();
    }, delay);
    lane.retriesWaiting.add(timer);
    lane.retryWork.set(timer, work);
  }

  /** Holds wrong-sender answers until enough answers came to tell one dead token from a wrong key. */
  private watchWrongSender(lane: Lane, suspicious: boolean): void {
    const watch = lane.wrongSender;
    if (watch.decided) return;
    watch.seen++;
    if (suspicious) watch.suspicious++;
    if (watch.seen >= wrongSenderWindow) this.decideWrongSender(lane);
  }

  private decideWrongSender(lane: Lane): void {
    const watch = lane.wrongSender;
    watch.decided = true;
    const universal = watch.seen >= wrongSenderWindow && watch.suspicious === watch.seen;
    watch.universal = universal;
    const reason = watch.held[0]?.[1].reason ?? 'wrong-sender';
    for (const [work, outcome] of watch.held) {
      const { recipient } = work.rendered;
      const base = { line: recipient.line, provider: lane.name, recipient, attempts: work.attempts };
      if (universal) this.final({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.detail });
      else this.final({ ...base, kind: 'invalid', reason: outcome.reason, detail: outcome.detail });
    }
    watch.held = [];
    if (universal) {
      this.stop('stopped', { provider: lane.name, reason: `${reason}-for-all`, fix: wrongSenderReasons[reason] ?? 'every token was rejected: check the credentials' });
    }
  }

  private async drain(): Promise<void> {
    for (;;) {
      for (const lane of this.lanes.values()) await this.dispatch(lane, true);
      const busy = [...this.lanes.values()].some((lane) => lane.inFlight > 0 || lane.pending.length > 0 || lane.retriesWaiting.size > 0);
      if (!busy) break;
      await this.changed();
    }
    for (const lane of this.lanes.values()) if (!lane.wrongSender.decided) this.decideWrongSender(lane);
    this.options.onProgress?.(this.tally);
  }

  private stop(status: 'stopped' | 'interrupted', fatal?: Tally['fatal']): void {
    if (!this.stopping) {
      this.stopping = true;
      this.tally.status = status;
      if (fatal) this.tally.fatal = fatal;
    }
    for (const lane of this.lanes.values()) {
      for (const [timer, work] of lane.retryWork) {
        clearTimeout(timer);
        const { recipient } = work.rendered;
        this.final({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: 'campaign-stopped', attempts: work.attempts });
      }
      lane.retriesWaiting.clear();
      lane.retryWork.clear();
    }
    this.notify();
  }

  /** Work that was queued but never sent when the campaign stopped: not sent, so listed for a later run. */
  private abandonPending(lane: Lane): void {
    for (const work of lane.pending.splice(0)) {
      const { recipient } = work.rendered;
      this.final({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: 'campaign-stopped', attempts: work.attempts });
    }
  }

  private final(event: FinalEvent): void {
    countFinal(this.tally, event.provider, event.kind, event.reason);
    this.options.onFinal?.(event);
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
