import { notSent, type Outcome } from '../domain/outcome.js';
import type { AudienceRow, DeviceRecipient, ProviderName, UserDevices, UserRecipient } from '../domain/recipient.js';
import type { Tally } from '../domain/tally.js';
import { ConfigError } from '../errors.js';
import { carriedOver, keptVariant } from '../journal/read-journal.js';
import type { Rendered } from '../providers/provider.js';
import { CampaignEvents } from './campaign-events.js';
import type { CampaignOptions } from './campaign-options.js';
import { Lane, type Work } from './lane.js';
import { RateLimiter } from './rate-limiter.js';
import { decideRetry } from './retry-decision.js';
import { inShard, lineHash } from './shard.js';
import { WrongSenderJudge, type Verdict } from './wrong-sender-judge.js';

/** The scope of the whole provider, beside the scopes a provider names (web push origins). */
const wholeProvider = '';

/** A marked answer held while its scope's verdict is out. */
type HeldAnswer = [Work, Outcome & { kind: 'invalid' | 'rejected' }];

export async function runCampaign(rows: AsyncIterable<AudienceRow>, options: CampaignOptions): Promise<Tally> {
  return new CampaignRun(options).run(rows);
}

/**
 * One run of a campaign: reads the rows, renders each device's message, and sends it through its
 * provider's lane in batches, as capacity and rate allow. Each recipient ends in exactly one
 * event (campaign-events.ts). Only what provably never reached a provider is sent again.
 */
class CampaignRun {
  private readonly onAbort: () => void;
  /** Recipients held for their moment (--wait), by their timer. */
  private readonly held = new Map<ReturnType<typeof setTimeout>, { recipient: DeviceRecipient; dueAt: number }>();
  private readonly events: CampaignEvents;
  private readonly lanes = new Map<ProviderName, Lane>();
  private readonly judges = new Map<ProviderName, WrongSenderJudge<HeldAnswer>>();
  private stopping = false;
  private wake?: () => void;
  private readonly random: () => number;
  private readonly totalRate?: RateLimiter;

  constructor(private readonly options: CampaignOptions) {
    this.events = new CampaignEvents(options.journal?.writer, options.onFinal);
    this.random = options.random ?? Math.random;
    if (options.rate?.total) this.totalRate = new RateLimiter(options.rate.total);
    // Removed when the run ends: --wait runs many campaigns on one signal.
    this.onAbort = () => this.stop('interrupted');
    // A signal that came before the run (while the credentials were checked) never fires `abort` again.
    if (options.signal?.aborted) this.onAbort();
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
    options.journal?.writer.onFailure((error) => this.stop('stopped', { reason: 'journal-write-failed', fix: error.message }));
    const { stopOn } = options;
    stopOn?.onFailure((error) => this.stop('stopped', { reason: stopOn.reason, fix: error.message }));
  }

  private get tally(): Tally {
    return this.events.tally;
  }

  async run(rows: AsyncIterable<AudienceRow>): Promise<Tally> {
    const { shard } = this.options;
    // Not unref'd: a client call that never settles must end as a stalled provider, not as a
    // process that runs out of work mid-campaign.
    const watchdog = setInterval(() => this.watchStalls(), Math.min(1000, Math.max(50, this.options.stallMs / 10)));
    try {
      for await (const row of rows) {
        if (this.stopping && !this.options.countUnreached) break;
        if (!inShard(shard, row.kind === 'problem' ? (row.hash ?? lineHash(row.line)) : row.hash)) continue;
        this.options.onRow?.(row);
        if (this.stopping) {
          this.unreached(row);
          continue;
        }
        if (row.kind === 'problem') {
          this.events.counted({ kind: 'skipped', line: row.line, provider: row.provider, reason: row.reason, detail: row.detail, attempts: 0 });
        } else if (row.kind === 'user') {
          const devices = this.resolve(row);
          if (Array.isArray(devices)) {
            for (const device of devices) {
              if (device.kind === 'problem')
                this.events.counted({ kind: 'skipped', line: device.line, provider: device.provider, reason: device.reason, detail: device.detail, attempts: 0 });
              else await this.take(device);
            }
          } else this.events.counted({ kind: 'skipped', line: row.line, reason: devices.reason, detail: devices.detail, attempts: 0 });
        } else {
          await this.take(row);
        }
      }
      await this.drain();
    } finally {
      clearInterval(watchdog);
      this.options.signal?.removeEventListener('abort', this.onAbort);
    }
    return this.tally;
  }

  /**
   * A row read after the campaign stopped: counted, never sent. A bad row keeps its reason; a
   * device an earlier run settled is counted as it was; any other is `not-sent` (a later run, or
   * --failed-out, sends it), and the lines not reached are noted for the report.
   */
  private unreached(row: AudienceRow): void {
    if (row.kind === 'problem') {
      return this.events.counted({ kind: 'skipped', line: row.line, provider: row.provider, reason: row.reason, detail: row.detail, attempts: 0 });
    }
    const devices = row.kind === 'user' ? this.resolve(row) : [row];
    if (!Array.isArray(devices)) {
      // A user the registry did not resolve before the stop: not reached, as a device would be.
      if (devices.reason === 'not-sent') this.noteUnreached(row.line);
      return this.events.counted({
        kind: 'skipped',
        line: row.line,
        reason: devices.reason,
        detail: devices.detail,
        attempts: 0,
        ...(devices.reason === 'not-sent' ? { unreached: true } : {}),
      });
    }
    for (const device of devices) {
      if (device.kind === 'problem') {
        this.events.counted({ kind: 'skipped', line: device.line, provider: device.provider, reason: device.reason, detail: device.detail, attempts: 0 });
        continue;
      }
      const prior = this.options.journal?.prior.get(device.key);
      const carried = prior && carriedOver(prior, this.options.journal!.resendUncertain);
      if (carried) {
        this.events.carried({ ...carried, line: device.line, recipient: keptVariant(device, prior) });
        continue;
      }
      this.noteUnreached(device.line);
      this.events.counted({
        kind: 'skipped',
        line: device.line,
        provider: device.provider,
        recipient: keptVariant(device, prior),
        reason: 'not-sent',
        detail: unreachedDetail,
        attempts: 0,
        unreached: true,
      });
    }
  }

  /** A user's devices (the device registry resolved them on the way in), or why there are none to send to. */
  private resolve(row: UserRecipient): UserDevices {
    return row.devices ?? { reason: 'needs-registry', detail: 'user-ID audiences need the device registry (--registry)' };
  }

  /** The lines (or registry devices) a stopped run did not reach: the report says from where to where. */
  private noteUnreached(line: number): void {
    const unreached = (this.tally.unreached ??= { rows: 0, fromLine: line, toLine: line });
    unreached.rows++;
    unreached.fromLine = Math.min(unreached.fromLine, line);
    unreached.toLine = Math.max(unreached.toLine, line);
  }

  /** One device: settled by an earlier run, refused, or rendered and queued for its provider. */
  private async take(drawn: DeviceRecipient, released?: { kind: 'due'; lateMs: number }): Promise<void> {
    const { journal, providers } = this.options;
    const prior = journal?.prior.get(drawn.key);
    const recipient = keptVariant(drawn, prior, (variant) => this.options.variants?.has(variant) === true);
    const base = { line: recipient.line, provider: recipient.provider, recipient, attempts: 0 };
    // Settled by an earlier run (or maybe delivered by one): counted, not sent again.
    const carried = !released && prior && carriedOver(prior, journal!.resendUncertain);
    if (carried) return this.events.carried({ ...carried, line: recipient.line, recipient });
    const timing = released ?? this.options.schedule?.(recipient);
    if (timing?.kind === 'hold') return this.hold(recipient, timing.dueAt, timing.inMs);
    if (timing?.kind === 'deferred') return this.events.counted({ ...base, kind: 'skipped', reason: 'deferred', detail: `due at ${new Date(timing.dueAt).toISOString()}` });
    if (timing?.kind === 'skip') return this.events.counted({ ...base, kind: 'skipped', reason: timing.reason, detail: timing.detail });
    const refusal = providers.refuse(recipient);
    if (refusal) return this.events.counted({ ...base, kind: 'skipped', ...refusal });
    const template = (recipient.variant !== undefined && this.options.variants?.get(recipient.variant)) || this.options.template;
    const message = template.render(recipient.vars, recipient.locale, recipient.badge);
    if (!message.ok) return this.events.counted({ ...base, kind: 'skipped', reason: message.reason, detail: message.detail });
    // Sent late (within --late-limit): it expires when it would have, counted from its own moment.
    const { ttlSeconds } = message.message;
    if (timing?.kind === 'due' && ttlSeconds !== undefined && timing.lateMs >= 1000) message.message.ttlSeconds = Math.max(0, ttlSeconds - Math.floor(timing.lateMs / 1000));
    const built = providers.build(message.message, recipient);
    if (!built.ok) return this.events.counted({ ...base, kind: 'skipped', reason: built.reason, detail: built.detail });
    const rendered = { provider: recipient.provider, recipient, payload: built.payload } as Rendered;

    const lane = await this.laneFor(recipient.provider);
    const scope = providers.scopeOf(rendered);
    const halted = scope === undefined ? undefined : lane.haltOf(scope);
    if (halted) {
      // Its scope refused the sender for everyone: not sent, and sent by a later run once fixed.
      return this.events.toSendLater({ ...base, kind: 'failed', reason: halted.reason, detail: halted.fix });
    }
    lane.enqueue({ rendered, attempts: 0 });
    if (lane.hasFullBatch) await this.dispatch(lane, false);
  }

  /** Due soon (--wait): kept, and taken at its moment; the run ends when every held one has gone. */
  private hold(recipient: DeviceRecipient, dueAt: number, inMs: number): void {
    const timer = setTimeout(() => {
      this.held.delete(timer);
      void this.take(recipient, { kind: 'due', lateMs: 0 }).finally(() => this.notify());
    }, inMs);
    this.held.set(timer, { recipient, dueAt });
  }

  private async laneFor(name: ProviderName): Promise<Lane> {
    const existing = this.lanes.get(name);
    if (existing) return existing;
    const provider = this.options.providers.get(name).catch((error: unknown) => {
      if (!(error instanceof ConfigError)) throw error;
      this.stop('stopped', { provider: name, reason: 'configuration', fix: error.message });
      return undefined;
    });
    const lane = new Lane(name, this.options.inFlight[name], provider, () => this.notify());
    this.lanes.set(name, lane);
    this.judges.set(name, new WrongSenderJudge((scope, verdict) => this.onVerdict(lane, scope, verdict)));
    if (this.stopping) lane.abort.abort();
    lane.size(await provider, { perSecond: this.options.rate?.perProvider?.[name], total: this.options.rate?.total });
    return lane;
  }

  /** Sends full batches (or, with `flush`, whatever is pending) as the lane allows. Waiting here is the backpressure. */
  private async dispatch(lane: Lane, flush: boolean): Promise<void> {
    for (;;) {
      if (this.stopping) return this.notSentYet(lane.takeQueued());
      const step = lane.next(Date.now(), flush);
      if (step.kind === 'none') return;
      if (step.kind === 'wait') {
        await this.changed();
        continue;
      }
      await this.totalRate?.take(step.batch.length);
      await lane.paced(step.batch.length);
      this.launch(lane, step.batch);
    }
  }

  private launch(lane: Lane, batch: Work[]): void {
    let handed = false; // it went out (or was started to): counted in sends
    let toLane = false; // handed to the lane, whose clock of silence counts it until it settles
    let journaled: number | undefined; // the batch's number in the journal
    // Right before the batch leaves: its journal line first, durably, so that after a crash these
    // are known to be maybe sent. False when it must not go (stopping, or the journal failed).
    const start = async (): Promise<boolean> => {
      if (this.stopping) return false;
      try {
        journaled = await this.events.leaving(
          lane.name,
          batch.map((work) => work.rendered.recipient),
        );
      } catch {
        return false; // the writer has stopped the campaign: this batch never goes
      }
      const now = Date.now();
      this.tally.sends += batch.length;
      for (const work of batch) {
        // A retry is any request for a recipient after its first in this run, a refused stream's
        // free resend included: the requests a provider sees are the sends, their first ones the recipients.
        if (work.firstAttemptAt === undefined) work.firstAttemptAt = now;
        else this.tally.retries++;
      }
      handed = true;
      this.options.onProgress?.(this.tally); // "sent" counts requests as they go, not as they are answered
      return true;
    };
    const send = async (): Promise<Outcome[]> => {
      const provider = await lane.provider;
      if (!provider || this.stopping) return batch.map(() => notSent);
      // A provider that holds batches (sending threads) starts each when it is about to send it.
      if (provider.startsWhenReady) {
        toLane = true;
        return lane.send(provider, batch, start);
      }
      if (!(await start())) return batch.map(() => notSent);
      toLane = true;
      return lane.send(provider, batch);
    };
    const started = performance.now();
    void send()
      .then((outcomes) => {
        const ms = performance.now() - started;
        this.options.onBatch?.(ms, batch.length);
        if (this.options.onDecision && handed) this.options.onDecision({ type: 'batch', provider: lane.name, count: batch.length, ms, outcomes: outcomeCounts(outcomes) });
        if (toLane) lane.heard(batch.length, outcomes, started);
        this.events.answered(journaled, outcomes);
        batch.forEach((work, index) => {
          work.attempts++;
          this.settle(lane, work, outcomes[index] ?? { kind: 'uncertain', reason: 'no-answer', detail: 'the provider gave no outcome for this recipient' });
        });
        this.options.onProgress?.(this.tally);
      })
      .finally(() => {
        lane.release(batch.length);
        this.notify();
      });
  }

  private settle(lane: Lane, work: Work, outcome: Outcome): void {
    const { recipient } = work.rendered;
    const base = { line: recipient.line, provider: lane.name, recipient, attempts: work.attempts };
    switch (outcome.kind) {
      case 'accepted':
        this.heardFromSender(lane, work);
        return this.events.accepted({ ...base, kind: 'accepted', id: outcome.id });
      case 'invalid':
      case 'rejected': {
        const mark = outcome.wrongSender;
        if (mark?.when === 'all') {
          // The fix names the provider's own words too: they are what a user searches for.
          const fix = outcome.detail ? `${mark.fix} (answered: ${outcome.detail})` : mark.fix;
          const verdict = this.judges.get(lane.name)!.marked(outcome.scope ?? wholeProvider, [work, outcome], outcome.reason, fix);
          if (verdict === 'held') return;
          // The sender is wrong, not the token or the message: never pruned, sent again once fixed.
          if (verdict === 'sender-wrong') return this.events.toSendLater({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.detail });
        } else this.heardFromSender(lane, work);
        return this.events.settled({ ...base, kind: outcome.kind, reason: outcome.reason, detail: outcome.detail, wrongSender: mark });
      }
      case 'fatal':
        this.stop('stopped', { provider: lane.name, reason: outcome.reason, fix: outcome.fix });
        // Not the recipient's fault: once the configuration is fixed, a re-run sends it.
        return this.events.toSendLater({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.fix });
      case 'retryable':
        return this.retryOrFail(lane, work, outcome);
      case 'uncertain':
        // Maybe sent: never resent in this run; its `sent` line keeps it open for --resend-uncertain.
        return this.events.counted({ ...base, kind: 'uncertain', reason: outcome.reason, detail: outcome.detail });
    }
  }

  private retryOrFail(lane: Lane, work: Work, outcome: Outcome & { kind: 'retryable' }): void {
    const { recipient } = work.rendered;
    const base = { line: recipient.line, provider: lane.name, recipient };
    if (lane.stalled) {
      // Left queued on a connection to a stalled provider, as the lane's own queue: a later run sends it.
      return this.events.toSendLater({ ...base, kind: 'failed', reason: 'provider-stalled', attempts: work.attempts });
    }
    if (this.stopping) {
      // Not delivered, and not given up on: a later run sends it.
      return this.events.toSendLater({ ...base, kind: 'skipped', reason: 'not-sent', detail: outcome.detail, attempts: work.attempts });
    }
    const decision = decideRetry(work, outcome, { ...this.options, refusedStreak: lane.refusedStreak, now: Date.now(), random: this.random });
    if (decision.free) work.attempts--;
    if (decision.kind === 'give-up') {
      this.options.onDecision?.({ type: 'give-up', provider: lane.name, line: recipient.line, reason: outcome.reason, attempts: work.attempts });
      return this.events.settled({ ...base, kind: 'failed', reason: outcome.reason, detail: outcome.detail, attempts: work.attempts });
    }
    this.events.retrying(recipient);
    const { delayMs, waits } = decision;
    const retryAfter = outcome.retryAfterMs !== undefined;
    this.options.onDecision?.({ type: 'retry', provider: lane.name, line: recipient.line, reason: outcome.reason, attempt: work.attempts + 1, delayMs, waits, retryAfter });
    if (waits === 'provider') {
      // The connection or the quota, not this device: the whole lane waits, and its recipients
      // go again together, one connection per wave however many were refused.
      const until = Date.now() + delayMs;
      if (delayMs > 0 && until > lane.pausedUntilAt) this.options.onDecision?.({ type: 'pause', provider: lane.name, until, reason: outcome.reason, retryAfter });
      lane.pauseUntil(until, work);
      this.notify();
      return;
    }
    lane.backOff(work, delayMs);
  }

  /** An answer with no wrong-sender mark: a sign the sender is right, for the provider and the recipient's scope. */
  private heardFromSender(lane: Lane, work: Work): void {
    const judge = this.judges.get(lane.name)!;
    judge.unmarked(wholeProvider);
    const scope = this.options.providers.scopeOf(work.rendered);
    if (scope !== undefined) judge.unmarked(scope);
  }

  private onVerdict(lane: Lane, scope: string, verdict: Verdict<HeldAnswer>): void {
    for (const [work, outcome] of verdict.held) {
      const { recipient } = work.rendered;
      const event = { line: recipient.line, provider: lane.name, recipient, attempts: work.attempts, reason: outcome.reason, detail: outcome.detail };
      if (verdict.senderWrong) this.events.toSendLater({ ...event, kind: 'failed' });
      else this.events.settled({ ...event, kind: outcome.kind, wrongSender: outcome.wrongSender });
    }
    if (!verdict.senderWrong) return;
    if (scope === wholeProvider) return this.stop('stopped', { provider: lane.name, reason: `${verdict.reason}-for-all`, fix: verdict.fix });
    this.haltScope(lane, scope, { reason: verdict.reason, fix: verdict.fix });
  }

  /** A scope (a web push service) refused the sender for everyone: the rest of the campaign goes on without it. */
  private haltScope(lane: Lane, scope: string, halt: { reason: string; fix: string }): void {
    this.tally.halted.push({ provider: lane.name, scope, reason: `${halt.reason}-for-all`, fix: halt.fix });
    for (const work of lane.halt(scope, halt, (work) => this.options.providers.scopeOf(work.rendered) === scope)) {
      const { recipient } = work.rendered;
      this.events.toSendLater({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: halt.reason, detail: halt.fix, attempts: work.attempts });
    }
  }

  /** A provider with requests outstanding that has answered nothing for too long is stalled. */
  private watchStalls(): void {
    const now = Date.now();
    for (const lane of this.lanes.values()) if (lane.silentFor(now) >= this.options.stallMs) this.stall(lane);
  }

  private stall(lane: Lane): void {
    // Its requests in flight settle now, as uncertain; the queued ones were never sent: failed, and sent by a later run.
    for (const work of lane.stall()) {
      const { recipient } = work.rendered;
      this.events.toSendLater({ kind: 'failed', line: recipient.line, provider: lane.name, recipient, reason: 'provider-stalled', attempts: work.attempts });
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
      if (![...this.lanes.values()].some((lane) => lane.busy) && this.held.size === 0) break;
      await this.changed();
    }
    for (const judge of this.judges.values()) judge.decideAll();
    this.options.onProgress?.(this.tally);
  }

  private stop(status: 'stopped' | 'interrupted', fatal?: Tally['fatal']): void {
    if (!this.stopping) {
      this.stopping = true;
      this.tally.status = status;
      if (fatal) this.tally.fatal = fatal;
      this.options.onStopping?.([...this.lanes.values()].reduce((sum, lane) => sum + lane.awaitingAnswers, 0));
    }
    // Waiting out a backoff, so journaled as a retry already: a later run sends them.
    for (const lane of this.lanes.values()) this.notSentYet(lane.stop());
    // Held for their moment: not sent, and a later run judges them again.
    for (const [timer, { recipient, dueAt }] of this.held) {
      clearTimeout(timer);
      this.events.counted({
        kind: 'skipped',
        line: recipient.line,
        provider: recipient.provider,
        recipient,
        reason: 'deferred',
        detail: `due at ${new Date(dueAt).toISOString()}`,
        attempts: 0,
      });
    }
    this.held.clear();
    this.notify();
  }

  /** Recipients not sent (again) when the campaign stopped, whose journal lines already say a later run sends them. */
  private notSentYet(works: Work[]): void {
    for (const work of works) {
      const { recipient } = work.rendered;
      this.events.counted({ kind: 'skipped', line: recipient.line, provider: recipient.provider, recipient, reason: 'not-sent', attempts: work.attempts });
    }
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

const unreachedDetail = 'not reached: the run stopped before this row; the next run sends it';

/** A batch's outcomes by kind (and reason where there is one): what --verbose prints of it. */
function outcomeCounts(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.kind === 'accepted' ? 'accepted' : `${outcome.kind} ${outcome.reason}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
