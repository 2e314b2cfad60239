import type { AudienceRow, DeviceRecipient, ProviderName, UserRecipient } from '../domain/recipient.js';
import type { CompiledTemplate } from '../message/compile-template.js';
import type { OriginCheck } from '../providers/webpush/allowed-origins.js';
import type { BuildContext, Outcome, Provider, Rendered } from '../providers/provider.js';
import { ConfigError } from '../errors.js';
import type { JournalWriter, PriorState } from './journal.js';
import { prepareRecipient } from './prepare-recipient.js';
import { RateLimiter } from './rate-limiter.js';
import { inShard, lineHash, type Shard } from './shard.js';
import { reconnectDelay, retryDelay } from './retry-delay.js';
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
  /** Only the recipients of this shard are sent; the others belong to other processes. */
  shard?: Shard;
  /** Sends per second: across providers, and per provider. */
  rate?: { total?: number; perProvider?: Partial<Record<ProviderName, number>> };
  /** Turns a user-ID row into that user's devices (the device registry); without it such rows are skipped. */
  resolveUser?(row: UserRecipient): DeviceRecipient[] | { reason: string; detail: string };
  /** Providers whose rows are not sent, and why (no credentials; no dry run for `check`). */
  skipProviders?: Partial<Record<ProviderName, { reason: string; detail: string }>>;
  /**
   * A provider with requests outstanding and no answer at all for this long is stalled: its
   * requests in flight become uncertain, its queued recipients fail, and the campaign stops.
   */
  stallMs: number;
  /** The campaign's journal, and what earlier runs of it left. */
  journal?: { writer: JournalWriter; prior: Map<string, PriorState>; resendUncertain: boolean };
  onFinal?(event: FinalEvent): void;
  onProgress?(tally: Tally): void;
  /** Told once, when the campaign starts stopping (Ctrl-C, a fatal answer), how many recipients are still in flight. */
  onStopping?(inFlight: number): void;
  /** Told how long each batch took to answer, and for how many messages. */
  onBatch?(ms: number, count: number): void;
  random?: () => number;
}

/**
 * APNs: the streams one HTTP/2 connection carries at once (create-apns.ts): more would only queue
 * inside the provider, unsent yet counted in flight (uncertain after a crash), for no speed.
 */
export const defaultInFlight: Record<ProviderName, number> = { fcm: 500, apns: 100, webpush: 200 };

/** Answers seen before deciding whether a wrong-sender answer is universal. */
const wrongSenderWindow = 20;
/** …and the fewest recipients that must all have it: an answer one or two rows get is theirs alone. */
const wrongSenderMinimum = 3;
/** Answered reasons that speak for the whole provider, not one device: everything waits. */
const providerWideWaits = new Set(['quota-exceeded', 'too-many-requests']);
/**
 * Batches in a row refused with no answer at all (a GOAWAY storm) whose recipients still go again
 * for free; after that a refusal costs an attempt. While answers keep coming, refusals are free:
 * a server draining its connections refuses the streams it did not get to, and that is progress.
 */
const freeRefusals = 3;

interface Work {
  rendered: Rendered;
  /** The journal's key for this recipient. */
  key: string;
  attempts: number;
  firstAttemptAt?: number;
}

type HeldAnswer = [Work, Outcome & { kind: 'invalid-token' | 'rejected-message' }];

/** Answers seen in one scope (the whole provider, or one web push origin) while deciding whether its wrong-sender answers are universal. */
interface WrongSenderWatch {
  seen: number;
  suspicious: number;
  decided: boolean;
  universal: boolean;
  held: HeldAnswer[];
}

/** The scope of the whole provider, beside the scopes a provider names (web push origins). */
const wholeProvider = '';

/** Did the provider say something? Refusals and connections that failed are not answers. */
function isAnswer(outcome: Outcome): boolean {
  return outcome.kind === 'retryable' ? outcome.because === 'answered' : outcome.kind !== 'uncertain';
}

class Lane {
  pending: Work[] = [];
  /** Recipients reserved for or handed to the provider, not settled yet. */
  inFlight = 0;
  /** Recipients handed to the provider and not answered, and how long it has been silent while there were some. */
  awaiting = 0;
  silentSince?: number;
  silentMs = 0;
  /** Recipients waiting out a backoff, by their timer. */
  retryWork = new Map<NodeJS.Timeout, Work>();
  pausedUntil = 0;
  /** Wakes the dispatcher when the pause ends. It holds the process open: a paused lane is work to do. */
  pauseTimer?: NodeJS.Timeout;
  /** Batches in a row whose streams were refused and nothing answered: a storm, and each resend a new connection. */
  refusedStreak = 0;
  provider?: Promise<Provider | undefined>;
  batchSize = 1;
  rate?: RateLimiter;
  /** Aborted when the campaign stops: the provider starts no more requests. */
  readonly abort = new AbortController();
  stalled = false;
  /** For each batch awaiting the provider, what settles it at once if the provider stalls. */
  readonly settleOnStall = new Set<() => void>();
  /** Where each recipient is judged besides the whole provider (`Provider.scopeOf`). */
  scopeOf?: (item: Rendered) => string;
  readonly wrongSender = new Map<string, WrongSenderWatch>();
  /** Scopes whose every recipient got a wrong-sender answer: their rows fail without being sent. */
  readonly halted = new Map<string, { reason: string; fix: string }>();
  constructor(readonly name: ProviderName) {}

  watch(scope: string): WrongSenderWatch {
    let watch = this.wrongSender.get(scope);
    if (!watch) this.wrongSender.set(scope, (watch = { seen: 0, suspicious: 0, decided: false, universal: false, held: [] }));
    return watch;
  }
}

const notSent: Outcome = { kind: 'retryable', reason: 'not-sent', because: 'not-sent' };

export async function runCampaign(rows: AsyncIterable<AudienceRow>, options: CampaignOptions): Promise<Tally> {
  return new CampaignRun(options).run(rows);
}

class CampaignRun {
  private readonly tally = emptyTally();
  private readonly lanes = new Map<ProviderName, Lane>();
  private stopping = false;
  private wake?: () => void;
  private readonly random: () => number;
  private readonly totalRate?: RateLimiter;

  constructor(private readonly options: CampaignOptions) {
    this.random = options.random ?? Math.random;
    if (options.rate?.total) this.totalRate = new RateLimiter(options.rate.total);
    options.signal?.addEventListener('abort', () => this.stop('interrupted'), { once: true });
    options.journal?.writer.onFailure((error) => this.stop('stopped', { reason: 'journal-write-failed', fix: error.message }));
  }

  async run(rows: AsyncIterable<AudienceRow>): Promise<Tally> {
    const { shard } = this.options;
    const watchdog = setInterval(() => this.watchStalls(), Math.min(1000, Math.max(50, this.options.stallMs / 10))).unref();
    try {
      for await (const row of rows) {
        if (this.stopping) break;
        if (row.kind === 'problem') {
          if (!inShard(shard, row.hash ?? lineHash(row.line))) continue;
          this.final({ kind: 'skipped', line: row.line, provider: row.provider, reason: row.reason, detail: row.detail, attempts: 0 });
          continue;
        }
        if (!inShard(shard, row.hash)) continue;
        if (row.kind === 'user') {
          const devices = this.options.resolveUser?.(row) ?? { reason: 'needs-registry', detail: 'user-ID audiences need the device registry (--registry)' };
          if (!Array.isArray(devices)) {
            this.final({ kind: 'skipped', line: row.line, reason: devices.reason, detail: devices.detail, attempts: 0 });
            continue;
          }
          for (const device of devices) await this.take(device);
          continue;
        }
        await this.take(row);
      }
      await this.drain();
    } finally {
      clearInterval(watchdog);
    }
    return this.tally;
  }

  /** One device: settled by an earlier run, or rendered and queued for its provider. */
  private async take(row: DeviceRecipient): Promise<void> {
    const { journal } = this.options;
    const unusable = this.options.skipProviders?.[row.provider];
    if (unusable) {
      this.final({ kind: 'skipped', line: row.line, provider: row.provider, recipient: row, ...unusable, attempts: 0 });
      return;
    }
    const { key } = row;
    const prior = journal?.prior.get(key);
    if (prior?.state === 'final') {
      // Settled by an earlier run of this campaign: counted, never sent again.
      const { o, r, d, id } = prior.line;
      this.final({ kind: o, line: row.line, provider: row.provider, recipient: row, reason: r, detail: d, id, attempts: 0 }, false);
      return;
    }
    if (prior?.state === 'uncertain' && !journal?.resendUncertain) {
      this.final({
        kind: 'uncertain',
        line: row.line,
        provider: row.provider,
        recipient: row,
        reason: 'unanswered-earlier',
        detail: 'an earlier run sent it and got no answer (a timeout, or the process stopped); it may have been delivered. --resend-uncertain sends it again',
        attempts: 0,
      }, false);
      return;
    }
    const prepared = prepareRecipient(this.options.template, row, this.options.context);
    if ('kind' in prepared) {
      this.final({ kind: 'skipped', line: row.line, provider: row.provider, reason: prepared.reason, detail: prepared.detail, attempts: 0 });
      return;
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
      return;
    }
    const lane = await this.laneFor(row.provider);
    const halted = lane.scopeOf && lane.halted.get(lane.scopeOf(prepared));
    if (halted) {
      // Its scope refused the sender for everyone: not sent, and sent by a later run once fixed.
      this.final({ kind: 'failed', line: row.line, provider: row.provider, recipient: row, reason: halted.reason, detail: halted.fix, attempts: 0 }, 'retry', key);
      return;
    }
    lane.pending.push({ rendered: prepared, key, attempts: 0 });
    if (lane.pending.length >= lane.batchSize) await this.dispatch(lane, false);
  }

  private async laneFor(name: ProviderName): Promise<Lane> {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = new Lane(name);
      this.lanes.set(name, lane);
      if (this.stopping) lane.abort.abort();
      lane.provider = this.options.providers.get(name).catch((error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        this.stop('stopped', { provider: name, reason: 'configuration', fix: error.message });
        return undefined;
      });
      const provider = await lane.provider;
      lane.scopeOf = provider?.scopeOf?.bind(provider) as Lane['scopeOf'];
      lane.batchSize = Math.max(1, Math.min(provider?.maxBatch ?? 500, this.options.inFlight[name]));
      const perSecond = this.options.rate?.perProvider?.[name];
      if (perSecond) {
        lane.rate = new RateLimiter(perSecond);
        // A batch bigger than a second's worth would arrive as one burst.
        lane.batchSize = Math.max(1, Math.min(lane.batchSize, Math.ceil(perSecond)));
      }
      if (this.totalRate) lane.batchSize = Math.max(1, Math.min(lane.batchSize, Math.ceil(this.options.rate!.total!)));
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
        if (now < lane.pausedUntil && !lane.pauseTimer) {
          lane.pauseTimer = setTimeout(() => {
            lane.pauseTimer = undefined;
            this.notify();
          }, lane.pausedUntil - now);
        }
        await this.changed();
        continue;
      }
      const batch = lane.pending.splice(0, size);
      lane.inFlight += batch.length; // reserve the capacity while waiting for the rate
      await this.totalRate?.take(batch.length);
      await lane.rate?.take(batch.length);
      this.launch(lane, batch);
    }
  }

  private launch(lane: Lane, batch: Work[]): void {
    let handed = false;
    const send = async (): Promise<Outcome[]> => {
      const provider = await lane.provider;
      if (!provider) return batch.map(() => ({ kind: 'fatal', reason: 'provider-not-configured', fix: `${lane.name} has no credentials configured` }));
      if (this.stopping) return batch.map(() => notSent);
      const journal = this.options.journal;
      if (journal) {
        try {
          // Durable before the first request: after a crash these are known to be maybe sent.
          await journal.writer.sent(lane.name, batch.map((work) => work.key));
        } catch {
          return batch.map(() => notSent); // the writer has stopped the campaign: this batch never goes
        }
      }
      const now = Date.now();
      for (const work of batch) {
        if (work.attempts > 0) this.tally.retries++;
        work.firstAttemptAt ??= now;
      }
      handed = true;
      lane.awaiting += batch.length;
      lane.silentSince ??= now;
      let settle!: () => void;
      const stalled = new Promise<Outcome[]>((resolve) => {
        settle = () => resolve(batch.map(() => ({ kind: 'uncertain', reason: 'provider-stalled', detail: 'in flight when the provider stopped answering' })));
      });
      lane.settleOnStall.add(settle);
      try {
        return await Promise.race([provider.send(batch.map((work) => work.rendered) as never, lane.abort.signal), stalled]);
      } catch (error) {
        // A provider answers per recipient; a throw nobody classified may have followed a request out.
        return batch.map(() => ({ kind: 'uncertain', reason: 'no-answer', detail: (error as Error).message }));
      } finally {
        lane.settleOnStall.delete(settle); // or the lane would keep every batch it ever sent
      }
    };
    const started = performance.now();
    void send()
      .then((outcomes) => {
        this.options.onBatch?.(performance.now() - started, batch.length);
        if (handed) this.heard(lane, batch.length, outcomes);
        this.settle(lane, batch, outcomes);
      })
      .finally(() => {
        lane.inFlight -= batch.length;
        this.notify();
      });
  }

  /** Keeps the lane's clock of silence and its streak of refusals: only an answer from the provider resets them. */
  private heard(lane: Lane, count: number, outcomes: Outcome[]): void {
    const now = Date.now();
    lane.awaiting -= count;
    if (outcomes.some(isAnswer)) {
      lane.silentMs = 0;
      lane.silentSince = lane.awaiting > 0 ? now : undefined;
      lane.refusedStreak = 0;
      return;
    }
    if (lane.awaiting === 0 && lane.silentSince !== undefined) {
      lane.silentMs += now - lane.silentSince;
      lane.silentSince = undefined;
    }
    if (outcomes.some((outcome) => outcome.kind === 'retryable' && outcome.because === 'refused')) lane.refusedStreak++;
  }

  private settle(lane: Lane, batch: Work[], outcomes: Outcome[]): void {
    batch.forEach((work, index) => {
      work.attempts++;
      const outcome: Outcome = outcomes[index] ?? { kind: 'uncertain', reason: 'no-answer', detail: 'the provider gave no outcome for this recipient' };
      const { recipient } = work.rendered;
      const base = { line: recipient.line, provider: lane.name, recipient, attempts: work.attempts };
      switch (outcome.kind) {
        case 'accepted':
          this.heardFine(lane, work);
          return this.final({ ...base, kind: 'accepted', id: outcome.id }, 'final', work.key);
        case 'invalid-token':
        case 'rejected-message': {
          const kind = outcome.kind === 'invalid-token' ? 'invalid' : 'rejected';
          if (outcome.wrongSender) {
            const scope = outcome.scope ?? wholeProvider;
            const watch = lane.watch(scope);
            if (!watch.decided) {
              watch.held.push([work, outcome]);
              return this.noteAnswer(lane, scope, true);
            }
            if (watch.universal) {
              // The sender is wrong, not the token or the message: never pruned, sent again once fixed.
              return this.final({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.detail }, 'retry', work.key);
            }
          } else this.heardFine(lane, work);
          return this.final({ ...base, kind, reason: outcome.reason, detail: outcome.detail }, 'final', work.key);
        }
        case 'fatal':
          this.stop('stopped', { provider: lane.name, reason: outcome.reason, fix: outcome.fix });
          // Not the recipient's fault: once the configuration is fixed, a re-run sends it.
          return this.final({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.fix }, 'retry', work.key);
        case 'retryable':
          return this.retryOrFail(lane, work, outcome);
        case 'uncertain':
          // Maybe sent: never resent in this run; the journal keeps it open for --resend-uncertain.
          return this.final({ ...base, kind: 'uncertain', reason: outcome.reason, detail: outcome.detail }, false);
      }
    });
    this.options.onProgress?.(this.tally);
  }

  private retryOrFail(lane: Lane, work: Work, outcome: Outcome & { kind: 'retryable' }): void {
    const { recipient } = work.rendered;
    if (this.stopping) {
      // Not delivered, and not given up on: a later run sends it.
      return this.final({ kind: 'skipped', line: recipient.line, provider: lane.name, recipient, reason: 'not-sent', detail: outcome.detail, attempts: work.attempts }, 'retry', work.key);
    }
    let delay: number;
    if (outcome.because === 'refused' && lane.refusedStreak <= freeRefusals) {
      // Refused unread: no attempt spent; a wait before the next connection only if nothing answers.
      work.attempts--;
      delay = lane.refusedStreak > 0 ? reconnectDelay(lane.refusedStreak, this.random) : 0;
    } else delay = retryDelay(work.attempts, outcome.retryAfterMs, this.random);
    const deadline = (work.firstAttemptAt ?? Date.now()) + this.options.maxRetryMs;
    if (work.attempts >= this.options.maxAttempts || Date.now() + delay > deadline) {
      return this.final({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: outcome.reason, detail: outcome.detail, attempts: work.attempts }, 'final', work.key);
    }
    this.options.journal?.writer.retry(work.key);
    if (outcome.because !== 'answered' || providerWideWaits.has(outcome.reason)) {
      // The connection or the quota, not this device: the whole lane waits, and its recipients
      // go again together, one connection per wave however many were refused.
      lane.pausedUntil = Math.max(lane.pausedUntil, Date.now() + delay);
      lane.pending.push(work);
      this.notify();
      return;
    }
    const timer = setTimeout(() => {
      lane.retryWork.delete(timer);
      lane.pending.push(work);
      this.notify();
    }, delay);
    lane.retryWork.set(timer, work);
  }

  /** An answer that is not a wrong-sender one: it counts against universality for the provider and the recipient's scope. */
  private heardFine(lane: Lane, work: Work): void {
    this.noteAnswer(lane, wholeProvider, false);
    if (lane.scopeOf) this.noteAnswer(lane, lane.scopeOf(work.rendered), false);
  }

  /** Holds wrong-sender answers until enough answers came to tell one bad row from a wrong credential. */
  private noteAnswer(lane: Lane, scope: string, suspicious: boolean): void {
    const watch = lane.watch(scope);
    if (watch.decided) return;
    watch.seen++;
    if (suspicious) watch.suspicious++;
    if (watch.seen >= wrongSenderWindow) this.decideWrongSender(lane, scope);
  }

  private decideWrongSender(lane: Lane, scope: string): void {
    const watch = lane.watch(scope);
    watch.decided = true;
    const universal = watch.seen >= wrongSenderMinimum && watch.suspicious === watch.seen;
    watch.universal = universal;
    const first = watch.held[0]?.[1];
    for (const [work, outcome] of watch.held.splice(0)) {
      const { recipient } = work.rendered;
      const base = { line: recipient.line, provider: lane.name, recipient, attempts: work.attempts, reason: outcome.reason, detail: outcome.detail };
      if (universal) this.final({ ...base, kind: 'failed' }, 'retry', work.key);
      else this.final({ ...base, kind: outcome.kind === 'invalid-token' ? 'invalid' : 'rejected' }, 'final', work.key);
    }
    if (!universal || !first) return;
    if (scope === wholeProvider) return this.stop('stopped', { provider: lane.name, reason: `${first.reason}-for-all`, fix: first.wrongSender! });
    this.haltScope(lane, scope, { reason: first.reason, fix: first.wrongSender! });
  }

  /** A scope (a web push service) refused the sender for everyone: the rest of the campaign goes on without it. */
  private haltScope(lane: Lane, scope: string, halt: { reason: string; fix: string }): void {
    lane.halted.set(scope, halt);
    this.tally.halted.push({ provider: lane.name, scope, reason: `${halt.reason}-for-all`, fix: halt.fix });
    const queued = lane.pending.filter((work) => lane.scopeOf?.(work.rendered) === scope);
    lane.pending = lane.pending.filter((work) => !queued.includes(work));
    for (const work of queued) {
      const { recipient } = work.rendered;
      this.final({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: halt.reason, detail: halt.fix, attempts: work.attempts }, 'retry', work.key);
    }
  }

  /** A provider with requests outstanding that has answered nothing for too long is stalled. */
  private watchStalls(): void {
    const now = Date.now();
    for (const lane of this.lanes.values()) {
      if (lane.stalled || lane.awaiting === 0 || lane.silentSince === undefined) continue;
      if (lane.silentMs + now - lane.silentSince >= this.options.stallMs) this.stall(lane);
    }
  }

  private stall(lane: Lane): void {
    lane.stalled = true;
    for (const settle of lane.settleOnStall) settle(); // its requests in flight settle now, as uncertain
    // Queued recipients were never sent: failed, and sent by a later run.
    const queued = [...lane.pending.splice(0), ...lane.retryWork.values()];
    for (const timer of lane.retryWork.keys()) clearTimeout(timer);
    lane.retryWork.clear();
    for (const work of queued) {
      const { recipient } = work.rendered;
      this.final({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: 'provider-stalled', attempts: work.attempts }, 'retry', work.key);
    }
    const seconds = Math.round(this.options.stallMs / 1000);
    this.stop('stopped', {
      provider: lane.name,
      reason: 'provider-stalled',
      fix: `${lane.name} took requests and answered none for ${seconds} s: check the network and the provider's status, then run the same command again (--stall-timeout sets this bound)`,
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      for (const lane of this.lanes.values()) await this.dispatch(lane, true);
      const busy = [...this.lanes.values()].some((lane) => lane.inFlight > 0 || lane.pending.length > 0 || lane.retryWork.size > 0);
      if (!busy) break;
      await this.changed();
    }
    for (const lane of this.lanes.values()) {
      for (const [scope, watch] of lane.wrongSender) if (!watch.decided) this.decideWrongSender(lane, scope);
    }
    this.options.onProgress?.(this.tally);
  }

  private stop(status: 'stopped' | 'interrupted', fatal?: Tally['fatal']): void {
    if (!this.stopping) {
      this.stopping = true;
      this.tally.status = status;
      if (fatal) this.tally.fatal = fatal;
      this.options.onStopping?.([...this.lanes.values()].reduce((sum, lane) => sum + lane.awaiting, 0));
    }
    for (const lane of this.lanes.values()) {
      lane.abort.abort();
      clearTimeout(lane.pauseTimer);
      lane.pauseTimer = undefined;
      for (const [timer, work] of lane.retryWork) {
        clearTimeout(timer);
        const { recipient } = work.rendered;
        // Journaled as a retry already: a later run sends it.
        this.final({ kind: 'skipped', line: recipient.line, provider: lane.name, recipient, reason: 'not-sent', attempts: work.attempts }, false);
      }
      lane.retryWork.clear();
    }
    this.notify();
  }

  /** Work that was queued but never sent when the campaign stopped: a later run sends it. */
  private abandonPending(lane: Lane): void {
    for (const work of lane.pending.splice(0)) {
      const { recipient } = work.rendered;
      this.final({ kind: 'skipped', line: recipient.line, provider: lane.name, recipient, reason: 'not-sent', attempts: work.attempts }, false);
    }
  }

  /**
   * Counts a recipient's state for this run and journals it: as settled (`final`), as still to
   * send on a re-run (`retry`), or not at all (it came from the journal, or was never sent).
   */
  private final(event: FinalEvent, record: 'final' | 'retry' | false = 'final', key?: string): void {
    countFinal(this.tally, event.provider, event.kind, event.reason);
    const writer = this.options.journal?.writer;
    const keyOf = (recipient: DeviceRecipient) => key ?? recipient.key;
    if (record === 'retry' && writer && event.recipient) writer.retry(keyOf(event.recipient));
    if (record === 'final' && writer && event.recipient && event.provider && event.kind !== 'skipped' && event.kind !== 'uncertain') {
      const { recipient } = event;
      writer.final({
        k: keyOf(recipient),
        p: event.provider,
        o: event.kind,
        r: event.reason,
        d: event.detail,
        line: event.line,
        id: event.id,
        // The prune list needs the token itself; nothing else in the journal does.
        ...(event.kind === 'invalid' ? { token: recipient.token, user: recipient.userId } : {}),
      });
    }
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
