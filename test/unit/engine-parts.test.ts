import { rateLimits, shareOfRate } from '../../src/campaign/limits.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Outcome, RetryableReason } from '../../src/domain/outcome.js';
import { Lane, type Work } from '../../src/engine/lane.js';
import { parseRate, RateLimiter } from '../../src/engine/rate-limiter.js';
import { decideRetry } from '../../src/engine/retry-decision.js';
import { reconnectDelay, retryDelay, retryPolicy } from '../../src/engine/retry-delay.js';
import { inShard, parseShard } from '../../src/engine/shard.js';
import { WrongSenderJudge, wrongSenderMinimum, wrongSenderWindow, type Verdict } from '../../src/engine/wrong-sender-judge.js';
import { carriedOver, type PriorState } from '../../src/journal/read-journal.js';
import { unlessInterrupted } from '../../src/errors.js';
import type { Provider } from '../../src/providers/provider.js';
import { device } from '../helpers/audience.js';
import { rendered } from '../helpers/emulator.js';
import { fcmToken } from '../helpers/tokens.js';

describe('retryDelay: full jitter from 1 s, doubling to 60 s; a Retry-After is honoured, never sooner', () => {
  it.each([
    [1, 500, 1000],
    [2, 1000, 2000],
    [3, 2000, 4000],
    [7, 30_000, 60_000],
    [12, 30_000, 60_000],
  ])('after attempt %i: between %i and %i ms', (attempt, low, high) => {
    expect(retryDelay(attempt, undefined, () => 0)).toBe(low);
    expect(retryDelay(attempt, undefined, () => 0.999999)).toBeLessThan(high);
    expect(retryDelay(attempt, undefined, () => 0.999999)).toBeGreaterThanOrEqual(high - 1);
  });

  it.each([
    [7000, 7000, 7750],
    [100, 100, 160],
    [60_000, 60_000, 61_000],
  ])('Retry-After %i ms: between %i and %i ms', (retryAfter, low, high) => {
    expect(retryDelay(1, retryAfter, () => 0)).toBe(low);
    expect(retryDelay(1, retryAfter, () => 0.999999)).toBeLessThan(high);
  });

  it('caps at the policy', () => {
    expect(retryDelay(40, undefined, () => 0.999999)).toBeLessThan(retryPolicy.capMs);
  });
});

describe('reconnectDelay: short after refused streams, growing with each storm wave', () => {
  it.each([
    [1, 50, 100],
    [2, 100, 200],
    [4, 400, 800],
  ])('after %i refused waves: between %i and %i ms', (streak, low, high) => {
    expect(reconnectDelay(streak, () => 0)).toBe(low);
    expect(reconnectDelay(streak, () => 0.999999)).toBeLessThan(high);
  });
});

describe('waves of a storm: what counts against the free resends of refused streams', () => {
  const refused: Outcome = { kind: 'retryable', reason: 'refused-stream', because: 'refused' };
  const accepted: Outcome = { kind: 'accepted' };

  it('counts batches one GOAWAY refused together as one wave, a batch sent after it as the next, and an answer ends the storm', () => {
    const lane = new Lane('apns', 100, Promise.resolve(undefined), () => undefined);
    const startedTogether = performance.now(); // two batches of 50 in flight on one connection
    lane.heard(50, [refused], startedTogether);
    lane.heard(50, [refused], startedTogether);
    expect(lane.refusedStreak).toBe(1);
    lane.heard(50, [refused], performance.now()); // resent on the next connection, refused again
    expect(lane.refusedStreak).toBe(2);
    lane.heard(50, [refused, accepted], performance.now());
    expect(lane.refusedStreak).toBe(0);
  });
});

describe('a lane whose provider stalls', () => {
  /** A provider whose send throws once it is abandoned, as a sending thread that dies does. */
  function throwingWhenAbandoned(): Provider {
    let abandon!: (error: Error) => void;
    return {
      name: 'fcm',
      maxBatch: 100,
      send: () => new Promise<Outcome[]>((_resolve, reject) => (abandon = reject)),
      abandon: () => abandon(new Error('the sending thread died')),
      close: async () => undefined,
    };
  }
  const work = (token: string): Work => ({ rendered: rendered('fcm', token), attempts: 1 });

  it('settles a batch its provider throws on after the stall as provider-stalled, uncertain', async () => {
    const provider = throwingWhenAbandoned();
    const lane = new Lane('fcm', 100, Promise.resolve(provider), () => undefined);
    const sent = lane.send(provider, [work(fcmToken('held'))]);
    expect(lane.stall()).toEqual([]);
    expect(await sent).toEqual([{ kind: 'uncertain', reason: 'provider-stalled', detail: 'in flight when the provider stopped answering' }]);
  });

  it('settles a throw without a stall as no-answer, uncertain', async () => {
    const lane = new Lane('fcm', 100, Promise.resolve(undefined), () => undefined);
    const provider = { ...throwingWhenAbandoned(), send: () => Promise.reject(new Error('socket hang up')) };
    expect(await lane.send(provider, [work(fcmToken('thrown'))])).toEqual([{ kind: 'uncertain', reason: 'no-answer', detail: 'socket hang up' }]);
  });
});

describe('what becomes of a recipient the provider did not take', () => {
  const retryable = (because: 'answered' | 'refused' | 'not-sent', reason: RetryableReason, retryAfterMs?: number): Outcome & { kind: 'retryable' } => ({
    kind: 'retryable',
    because,
    reason,
    retryAfterMs,
  });
  const context = { refusedStreak: 0, maxAttempts: 3, maxRetryMs: 60_000, now: 100_000, random: () => 0 };
  it.each([
    [
      'a 5xx, first attempt: the recipient alone waits half of 1 s',
      { attempts: 1 },
      retryable('answered', 'unavailable'),
      {},
      { kind: 'retry', delayMs: 500, waits: 'recipient', free: false },
    ],
    [
      'a quota: the whole provider waits its Retry-After',
      { attempts: 1 },
      retryable('answered', 'rate-limited', 30_000),
      {},
      { kind: 'retry', delayMs: 30_000, waits: 'provider', free: false },
    ],
    ['no connection: the whole provider waits', { attempts: 1 }, retryable('not-sent', 'connection-failed'), {}, { kind: 'retry', delayMs: 500, waits: 'provider', free: false }],
    ['a refused stream, no storm: free, at once', { attempts: 3 }, retryable('refused', 'refused-stream'), {}, { kind: 'retry', delayMs: 0, waits: 'provider', free: true }],
    [
      'a refused stream in a third wave: free, after a reconnect delay',
      { attempts: 1 },
      retryable('refused', 'refused-stream'),
      { refusedStreak: 3 },
      { kind: 'retry', delayMs: 200, waits: 'provider', free: true },
    ],
    ['a refused stream past the free waves: an attempt spent', { attempts: 3 }, retryable('refused', 'refused-stream'), { refusedStreak: 4 }, { kind: 'give-up', free: false }],
    ['attempts spent', { attempts: 3 }, retryable('answered', 'unavailable'), {}, { kind: 'give-up', free: false }],
    ['a Retry-After past the time left to retry', { attempts: 1, firstAttemptAt: 50_000 }, retryable('answered', 'rate-limited', 20_000), {}, { kind: 'give-up', free: false }],
  ] as const)('%s', (_what, work, outcome, more, expected) => {
    expect(decideRetry(work, outcome, { ...context, ...more })).toEqual(expected);
  });
});

describe('a lane decides when its next batch may go', () => {
  afterEach(() => vi.useRealTimers());
  const work = (token: string): Work => ({ rendered: rendered('fcm', fcmToken(token)), attempts: 0 });
  const queued = (lane: Lane, count: number) => Array.from({ length: count }, (_, i) => lane.enqueue(work(`q${i}`)));

  it('gives full batches while capacity lasts, then waits for a release; a partial batch only when flushing', () => {
    const lane = new Lane('fcm', 4, Promise.resolve(undefined), () => undefined);
    lane.size({ maxBatch: 2 }, {});
    queued(lane, 5);
    const sizes = [lane.next(0, false), lane.next(0, false)].map((step) => (step.kind === 'batch' ? step.batch.length : step.kind));
    expect(sizes).toEqual([2, 2]);
    expect(lane.next(0, false).kind).toBe('none'); // one left: not a full batch
    expect(lane.next(0, true).kind).toBe('wait'); // flushing, but 4 of 4 in flight
    lane.release(2);
    const last = lane.next(0, true);
    expect(last.kind === 'batch' && last.batch.length).toBe(1);
  });

  it('sizes batches by the provider, its sending threads and the rates', () => {
    const sizeOf = (opened: { maxBatch: number; senders?: number }, rate: { perSecond?: number; total?: number }) => {
      const lane = new Lane('fcm', 400, Promise.resolve(undefined), () => undefined);
      lane.size(opened, rate);
      queued(lane, 1000);
      const step = lane.next(0, false);
      return step.kind === 'batch' ? step.batch.length : step.kind;
    };
    expect(sizeOf({ maxBatch: 500 }, {})).toBe(400);
    expect(sizeOf({ maxBatch: 500, senders: 2 }, {})).toBe(200);
    expect(sizeOf({ maxBatch: 50 }, {})).toBe(50);
    expect(sizeOf({ maxBatch: 500 }, { perSecond: 30 })).toBe(30);
    expect(sizeOf({ maxBatch: 500 }, { total: 10.5 })).toBe(11);
  });

  it('holds every batch while paused, and wakes the run once when the pause ends', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let wakes = 0;
    const lane = new Lane('fcm', 10, Promise.resolve(undefined), () => wakes++);
    lane.size({ maxBatch: 1 }, {});
    lane.pauseUntil(5000, work('retry'));
    expect(lane.next(1000, false).kind).toBe('wait');
    expect(lane.next(2000, false).kind).toBe('wait');
    vi.advanceTimersByTime(3999);
    expect(wakes).toBe(0);
    vi.advanceTimersByTime(1);
    expect(wakes).toBe(1);
    expect(lane.next(5000, false).kind).toBe('batch');
  });

  it('puts a backed-off recipient back in the queue when its time comes, and wakes the run', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let wakes = 0;
    const lane = new Lane('fcm', 10, Promise.resolve(undefined), () => wakes++);
    lane.size({ maxBatch: 1 }, {});
    lane.backOff(work('later'), 700);
    expect(lane.busy).toBe(true);
    expect(lane.next(0, true).kind).toBe('none');
    vi.advanceTimersByTime(700);
    expect(wakes).toBe(1);
    expect(lane.next(700, true).kind).toBe('batch');
  });

  it('halting a scope takes back its queued recipients and no others, and remembers why', () => {
    const lane = new Lane('webpush', 10, Promise.resolve(undefined), () => undefined);
    lane.size({ maxBatch: 10 }, {});
    for (const token of ['a1', 'b1', 'a2']) lane.enqueue(work(token));
    const halt = { reason: 'credentials-refused', fix: 'check the VAPID key' };
    const taken = lane.halt('a', halt, (item) => [fcmToken('a1'), fcmToken('a2')].includes(item.rendered.recipient.token));
    expect(taken.map((item) => item.rendered.recipient.token)).toEqual([fcmToken('a1'), fcmToken('a2')]);
    expect(lane.haltOf('a')).toEqual(halt);
    expect(lane.haltOf('b')).toBeUndefined();
    expect(lane.takeQueued().map((item) => item.rendered.recipient.token)).toEqual([fcmToken('b1')]);
  });
});

describe('the rate limiter, on a fake clock', () => {
  afterEach(() => vi.useRealTimers());

  it('lets a second worth through at once, then paces to the rate', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(100);
    const passed: number[] = [];
    const take = (count: number) => limiter.take(count).then(() => passed.push(Date.now()));
    const all = Promise.all([take(100), take(50), take(50), take(100)]);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    // 100 at once (the burst), then the next 50 owe half a second, and so on: 300 sends in 2 s.
    expect(passed).toEqual([0, 500, 1000, 2000]);
  });

  it('keeps the average for a batch larger than the bucket', async () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new RateLimiter(10);
    const passed: number[] = [];
    const all = Promise.all([limiter.take(30).then(() => passed.push(Date.now())), limiter.take(10).then(() => passed.push(Date.now()))]);
    await vi.advanceTimersByTimeAsync(10_000);
    await all;
    expect(passed).toEqual([2000, 3000]);
  });

  it.each([
    ['500', 500],
    ['500/s', 500],
    ['30000/m', 500],
    ['1.5', 1.5],
    ['0', undefined],
    ['fast', undefined],
  ] as Array<[string, number | undefined]>)('reads --rate %s as %s a second', (text, perSecond) => {
    expect(parseRate(text)).toBe(perSecond);
  });
});

describe('shards: K of N split an audience with no overlap', () => {
  it('places each recipient in exactly one shard', () => {
    const recipients = Array.from({ length: 300 }, (_, i) => device('fcm', `shard-${i}`));
    const counts = [1, 2, 3].map((index) => recipients.filter((recipient) => inShard({ index, count: 3 }, recipient.hash)).length);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(300);
    for (const count of counts) expect(count).toBeGreaterThan(60);
  });

  it.each([
    ['2/4', { index: 2, count: 4 }],
    [' 1 / 1 ', { index: 1, count: 1 }],
    ['0/4', undefined],
    ['5/4', undefined],
    ['2', undefined],
  ] as Array<[string, object | undefined]>)('reads --shard %j', (text, shard) => {
    expect(parseShard(text)).toEqual(shard);
  });
});

describe('the wrong-sender judge', () => {
  const judge = () => {
    const verdicts: Array<[string, Verdict<number>]> = [];
    return { verdicts, judge: new WrongSenderJudge<number>((scope, verdict) => verdicts.push([scope, verdict])) };
  };

  it(`calls the sender wrong when all of the first ${wrongSenderWindow} answers of a scope are marked, with the held answers`, () => {
    const { judge: j, verdicts } = judge();
    for (let i = 0; i < wrongSenderWindow - 1; i++) expect(j.marked('', i, 'InvalidProviderToken', 'check apns.keyId')).toBe('held');
    expect(verdicts).toEqual([]);
    expect(j.marked('', 99, 'InvalidProviderToken', 'check apns.keyId')).toBe('held');
    expect(verdicts).toEqual([
      ['', { senderWrong: true, held: [...Array.from({ length: wrongSenderWindow - 1 }, (_, i) => i), 99], reason: 'InvalidProviderToken', fix: 'check apns.keyId' }],
    ]);
    expect(j.marked('', 100, 'InvalidProviderToken', 'check apns.keyId')).toBe('sender-wrong');
  });

  it("calls them the recipients' own when any answer in the window was unmarked", () => {
    const { judge: j, verdicts } = judge();
    j.marked('', 1, 'DeviceTokenNotForTopic', 'set apns.topic');
    for (let i = 0; i < wrongSenderWindow - 1; i++) j.unmarked('');
    expect(verdicts).toEqual([['', { senderWrong: false, held: [1] }]]);
    expect(j.marked('', 2, 'DeviceTokenNotForTopic', 'set apns.topic')).toBe('recipient-wrong');
  });

  it('judges each scope apart: one web push service refusing does not halt another', () => {
    const { judge: j, verdicts } = judge();
    for (let i = 0; i < wrongSenderWindow; i++) {
      j.marked('https://web.push.apple.com', i, 'vapid-jwt-refused', 'fix the subject');
      j.unmarked('');
      j.unmarked('https://fcm.googleapis.com');
    }
    expect(verdicts.map(([scope, verdict]) => [scope, verdict.senderWrong])).toEqual([
      ['https://web.push.apple.com', true],
      ['', false],
      ['https://fcm.googleapis.com', false],
    ]);
  });

  it(`decides on what came when the campaign ends: all marked, and at least ${wrongSenderMinimum}`, () => {
    const few = judge();
    few.judge.marked('', 1, 'Forbidden', 'fix');
    few.judge.marked('', 2, 'Forbidden', 'fix');
    few.judge.decideAll();
    expect(few.verdicts).toEqual([['', { senderWrong: false, held: [1, 2] }]]);
    const enough = judge();
    for (let i = 0; i < wrongSenderMinimum; i++) enough.judge.marked('', i, 'Forbidden', 'fix');
    enough.judge.decideAll();
    expect(enough.verdicts[0][1].senderWrong).toBe(true);
  });
});

describe('what a run makes of what an earlier one left (resume and pushcast report alike)', () => {
  const final: PriorState = { state: 'final', line: { t: 'final', k: 'k', p: 'apns', o: 'invalid', r: 'Unregistered', line: 3, w: { fix: 'x', when: 'many' } } };
  const uncertain: PriorState = { state: 'uncertain', provider: 'fcm', line: 4 };
  const retry: PriorState = { state: 'retry', provider: 'fcm', line: 5 };

  it('counts a settled one as it was, with its mark', () => {
    expect(carriedOver(final, false)).toEqual({
      kind: 'invalid',
      provider: 'apns',
      reason: 'Unregistered',
      detail: undefined,
      id: undefined,
      wrongSender: { fix: 'x', when: 'many' },
      attempts: 0,
    });
  });

  it('leaves one that was in flight alone, unless told to resend it', () => {
    expect(carriedOver(uncertain, false)).toMatchObject({ kind: 'uncertain', reason: 'unanswered-earlier', provider: 'fcm' });
    expect(carriedOver(uncertain, true)).toBeUndefined();
  });

  it('sends again one that was waiting for a retry', () => {
    expect(carriedOver(retry, false)).toBeUndefined();
  });
});

describe('unlessInterrupted', () => {
  /** Work under way whose failure comes later, when the test says so. */
  function pendingWork(): { work: Promise<never>; fail(error: Error): void } {
    let fail!: (error: Error) => void;
    return { work: new Promise<never>((_, reject) => (fail = reject)), fail };
  }

  it('a signal that comes while the work runs stops the wait at once, and the work failing after is handled', async () => {
    const controller = new AbortController();
    const { work, fail } = pendingWork();
    const waiting = unlessInterrupted(work, controller.signal, 'while checking the credentials');
    controller.abort();
    await expect(waiting).rejects.toThrow('interrupted while checking the credentials; nothing was sent');
    fail(new Error('the token request was aborted'));
    await new Promise((resolve) => setImmediate(resolve)); // an unhandled rejection would fail the run here
  });

  it('a signal that came before the work started is obeyed, and the work failing after is handled', async () => {
    const controller = new AbortController();
    controller.abort();
    const { work, fail } = pendingWork();
    await expect(unlessInterrupted(work, controller.signal, 'while checking the credentials')).rejects.toThrow('interrupted while checking the credentials');
    fail(new Error('the token request was aborted'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('work that ends first gives its result', async () => {
    await expect(unlessInterrupted(Promise.resolve(7), new AbortController().signal, 'x')).resolves.toBe(7);
  });
});

describe('--shared-rate', () => {
  it("gives each of N shards 1/N of the rate, in all and per provider (a project's quota)", () => {
    expect(shareOfRate(rateLimits({ rate: '600000/m' }), 4)).toEqual({ total: 2500 });
    expect(shareOfRate(rateLimits({ rate: '400,fcm=200' }), 4)).toEqual({ total: 100, perProvider: { fcm: 50 } });
    expect(shareOfRate(rateLimits({ rate: '400' }), 1)).toEqual({ total: 400 });
    expect(shareOfRate(undefined, 4)).toBeUndefined();
  });
});
