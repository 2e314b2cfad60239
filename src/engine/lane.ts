import type { Outcome } from '../domain/outcome.js';
import type { ProviderName } from '../domain/recipient.js';
import { settledWithin } from '../domain/settled-within.js';
import type { Provider, Rendered } from '../providers/provider.js';
import { RateLimiter } from './rate-limiter.js';

/** A recipient on its way: its rendered message, and its attempts so far. */
export interface Work {
  rendered: Rendered;
  attempts: number;
  firstAttemptAt?: number;
}

/** Did the provider say something? Refusals and connections that failed are not answers. */
export function isAnswer(outcome: Outcome): boolean {
  return outcome.kind === 'retryable' ? outcome.because === 'answered' : outcome.kind !== 'uncertain';
}

const stalledOutcome: Outcome = { kind: 'uncertain', reason: 'provider-stalled', detail: 'in flight when the provider stopped answering' };
/** How long a stalled provider has to settle the requests it abandons before they are settled as maybe sent. */
const abandonGraceMs = 1000;
/**
 * How long a provider that says when it has abandoned its requests (sending threads) is waited
 * for before the grace starts: long, since a machine busy with other work may take seconds to
 * pass the messages, and until then a request that never left would be called maybe sent.
 */
const abandonedAnswerMs = 15_000;

/** What a lane can do now: send `batch` (its capacity is reserved), wait (for an answer, or the end of a pause: the lane wakes the run then), or nothing (no full batch queued). */
export type NextStep = { kind: 'batch'; batch: Work[] } | { kind: 'wait' } | { kind: 'none' };

/**
 * One provider's share of a campaign: its queue, what it has in flight, its batch size, pauses
 * and rate, the scopes it halted, and its clock of silence, which the stall watchdog reads. The
 * run asks it for the next batch (`next`) and tells it what happened; it decides when a batch may go.
 */
export class Lane {
  private pending: Work[] = [];
  /** Recipients reserved for or handed to the provider, not settled yet. */
  private inFlight = 0;
  /** Recipients waiting out a backoff, by their timer. */
  private readonly backingOff = new Map<NodeJS.Timeout, Work>();
  private pausedUntil = 0;
  /** Wakes the run when the pause ends. It holds the process open: a paused lane is work to do. */
  private pauseTimer?: NodeJS.Timeout;
  /** Waves in a row whose streams were refused and nothing answered: a storm, and each resend a new connection. */
  private refusals = 0;
  /** When the last refused batch settled: batches started before it were refused by the same GOAWAY. */
  private lastRefusedAt = -Infinity;
  private batchSize = 1;
  private rate?: RateLimiter;
  /** Aborted when the campaign stops: the provider starts no more requests. */
  readonly abort = new AbortController();
  private hasStalled = false;
  /** Scopes whose every recipient got a wrong-sender answer: their rows fail without being sent. */
  private readonly halted = new Map<string, { reason: string; fix: string }>();

  /** Recipients handed to the provider and not answered, and how long it has been silent while there were some. */
  private awaiting = 0;
  private silentSince?: number;
  private silentMs = 0;
  /** For each batch awaiting the provider, what settles it at once if the provider stalls. */
  private readonly settleOnStall = new Set<() => void>();
  /** Settles, once a stalled provider's grace is over, what it has not settled itself. */
  private abandonTimer?: NodeJS.Timeout;

  constructor(
    readonly name: ProviderName,
    /** Recipients in flight at once. */
    readonly limit: number,
    readonly provider: Promise<Provider | undefined>,
    /** Wakes the run: a pause or a backoff ended. */
    private readonly wake: () => void,
  ) {}

  /**
   * Sizes its batches once its provider is open: the provider's largest, and with sending threads
   * the in-flight limit split into a batch for each, so all of them send; with a rate, no more
   * than a second's worth, which would arrive as one burst.
   */
  size(opened: Pick<Provider, 'maxBatch' | 'senders'> | undefined, rate: { perSecond?: number; total?: number }): void {
    let size = Math.min(opened?.maxBatch ?? 500, Math.ceil(this.limit / (opened?.senders ?? 1)));
    if (rate.perSecond) {
      this.rate = new RateLimiter(rate.perSecond);
      size = Math.min(size, Math.ceil(rate.perSecond));
    }
    if (rate.total) size = Math.min(size, Math.ceil(rate.total));
    this.batchSize = Math.max(1, size);
  }

  enqueue(work: Work): void {
    this.pending.push(work);
  }

  /** A whole batch is queued: time to ask for `next`. */
  get hasFullBatch(): boolean {
    return this.pending.length >= this.batchSize;
  }

  /** The next batch, if capacity and pauses allow it now (`flush`: a partial one too, at the end). */
  next(now: number, flush: boolean): NextStep {
    if (!(this.hasFullBatch || (flush && this.pending.length > 0))) return { kind: 'none' };
    const size = Math.min(this.batchSize, this.pending.length);
    if (now < this.pausedUntil) {
      this.pauseTimer ??= setTimeout(() => {
        this.pauseTimer = undefined;
        this.wake();
      }, this.pausedUntil - now);
      return { kind: 'wait' };
    }
    if (this.inFlight + size > this.limit) return { kind: 'wait' };
    const batch = this.pending.splice(0, size);
    this.inFlight += batch.length; // reserved while it waits for the rate
    return { kind: 'batch', batch };
  }

  /** Waits until its rate lets `count` more go. */
  async paced(count: number): Promise<void> {
    await this.rate?.take(count);
  }

  /** A batch `next` gave has settled: its capacity is free. */
  release(count: number): void {
    this.inFlight -= count;
  }

  /** One recipient goes again after `delayMs` (its own backoff); the rest of the lane goes on. */
  backOff(work: Work, delayMs: number): void {
    const timer = setTimeout(() => {
      this.backingOff.delete(timer);
      this.pending.push(work);
      this.wake();
    }, delayMs);
    this.backingOff.set(timer, work);
  }

  /** The whole lane waits until `until` (a connection that failed, a quota); `work` goes again after. */
  pauseUntil(until: number, work: Work): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.pending.push(work);
  }

  /** When the lane's pause ends (0 or past: not paused). */
  get pausedUntilAt(): number {
    return this.pausedUntil;
  }

  /** A scope refused the sender for everyone: its queued recipients come back, and later ones are refused (`haltOf`). */
  halt(scope: string, halt: { reason: string; fix: string }, inScope: (work: Work) => boolean): Work[] {
    this.halted.set(scope, halt);
    const queued = this.pending.filter(inScope);
    this.pending = this.pending.filter((work) => !inScope(work));
    return queued;
  }

  haltOf(scope: string): { reason: string; fix: string } | undefined {
    return this.halted.get(scope);
  }

  /** The campaign is stopping: what is queued comes back, never sent. */
  takeQueued(): Work[] {
    return this.pending.splice(0);
  }

  get stalled(): boolean {
    return this.hasStalled;
  }

  /** Waves of refusals in a row with no answer (a GOAWAY storm). */
  get refusedStreak(): number {
    return this.refusals;
  }

  /**
   * Hands a batch to the provider (`start`: for one that `startsWhenReady`). If the lane stalls
   * before the provider answers, the batch settles as the provider abandons it, or as uncertain.
   */
  async send(provider: Provider, batch: Work[], start?: () => Promise<boolean>): Promise<Outcome[]> {
    this.awaiting += batch.length;
    this.silentSince ??= Date.now();
    let settle!: () => void;
    const stalled = new Promise<Outcome[]>((resolve) => {
      settle = () => resolve(batch.map(() => stalledOutcome));
    });
    this.settleOnStall.add(settle);
    try {
      const outcomes = await Promise.race([provider.send(batch.map((work) => work.rendered) as never, this.abort.signal, start), stalled]);
      // Abandoned by a stalled provider: what went out is maybe sent; what never left stays retryable.
      return this.stalled ? outcomes.map((outcome) => (outcome.kind === 'uncertain' ? stalledOutcome : outcome)) : outcomes;
    } catch (error) {
      // A provider answers per recipient; a throw nobody classified may have followed a request out.
      // A stalled provider's throw is how it abandoned the batch.
      if (this.stalled) return batch.map(() => stalledOutcome);
      return batch.map(() => ({ kind: 'uncertain', reason: 'no-answer', detail: (error as Error).message }));
    } finally {
      this.settleOnStall.delete(settle); // or the lane would keep every batch it ever sent
      if (this.settleOnStall.size === 0) clearTimeout(this.abandonTimer);
    }
  }

  /**
   * After a batch handed to the provider (at `startedAt`, performance.now()) settled: only an answer
   * resets the clock of silence and the streak of refusals.
   */
  heard(count: number, outcomes: Outcome[], startedAt: number): void {
    const now = Date.now();
    this.awaiting -= count;
    if (outcomes.some(isAnswer)) {
      this.silentMs = 0;
      this.silentSince = this.awaiting > 0 ? now : undefined;
      this.refusals = 0;
      return;
    }
    if (this.awaiting === 0 && this.silentSince !== undefined) {
      this.silentMs += now - this.silentSince;
      this.silentSince = undefined;
    }
    if (outcomes.some((outcome) => outcome.kind === 'retryable' && outcome.because === 'refused')) {
      // Batches in flight together share a connection, and one GOAWAY refuses them all: one wave.
      if (startedAt > this.lastRefusedAt) this.refusals++;
      this.lastRefusedAt = performance.now();
    }
  }

  /** How long the provider has answered nothing while requests were outstanding; 0 when none are. */
  silentFor(now: number): number {
    if (this.stalled || this.awaiting === 0 || this.silentSince === undefined) return 0;
    return this.silentMs + now - this.silentSince;
  }

  /**
   * The provider stopped answering: it abandons what is in flight, which settles as it judges
   * (within a grace, or as uncertain): a request still queued on its connection never left. What
   * is queued here comes back, never sent.
   */
  stall(): Work[] {
    this.hasStalled = true;
    void this.provider.then(async (provider) => {
      const abandoned = provider?.abandon?.();
      if (abandoned) await settledWithin(abandoned, abandonedAnswerMs);
      if (this.settleOnStall.size === 0) return;
      this.abandonTimer = setTimeout(() => {
        for (const settle of this.settleOnStall) settle();
      }, abandonGraceMs);
    });
    return [...this.pending.splice(0), ...this.takeBackingOff()];
  }

  /** The campaign stops: no request starts any more; the recipients waiting out a backoff come back, never resent. */
  stop(): Work[] {
    this.abort.abort();
    clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    return this.takeBackingOff();
  }

  get busy(): boolean {
    return this.inFlight > 0 || this.pending.length > 0 || this.backingOff.size > 0;
  }

  get awaitingAnswers(): number {
    return this.awaiting;
  }

  private takeBackingOff(): Work[] {
    const waiting = [...this.backingOff.values()];
    for (const timer of this.backingOff.keys()) clearTimeout(timer);
    this.backingOff.clear();
    return waiting;
  }
}
