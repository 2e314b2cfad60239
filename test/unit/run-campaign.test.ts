import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Outcome } from '../../src/domain/outcome.js';
import type { AudienceRow, DeviceRecipient } from '../../src/domain/recipient.js';
import type { Tally } from '../../src/domain/tally.js';
import type { CampaignOptions } from '../../src/engine/campaign-options.js';
import { runCampaign } from '../../src/engine/run-campaign.js';
import { JournalWriter } from '../../src/journal/journal.js';
import { readJournal } from '../../src/journal/read-journal.js';
import { CompiledTemplate } from '../../src/message/compile-template.js';
import type { Provider, ProviderSource, Rendered } from '../../src/providers/provider.js';
import { device } from '../helpers/audience.js';
import { tempDir } from '../helpers/tokens.js';

/**
 * The engine at its own seam: runCampaign with a provider whose every answer the test scripts, on
 * a fake clock. What the provider was sent, and when, is what each test asserts on.
 */

/** An answer for one recipient: an outcome, or `hang` (the request goes out and nothing ever comes back). */
type Answer = Outcome | 'hang';
type Script = (recipient: DeviceRecipient, attempt: number) => Answer;

interface Call {
  at: number;
  ids: string[];
}

/**
 * A provider that answers as `script` says, records each batch it was handed, and a source that
 * hands it out. With `abandonAfterMs`, it abandons its hung requests as sending threads do: it
 * answers them, as never sent, that long after being told, and says when it has.
 */
function scriptedProvider(script: Script, options: { maxBatch?: number; scopeOf?: (recipient: DeviceRecipient) => string | undefined; abandonAfterMs?: number } = {}) {
  const calls: Call[] = [];
  const attempts = new Map<string, number>();
  const hung: Array<() => void> = [];
  const { abandonAfterMs } = options;
  const provider: Provider = {
    name: 'fcm',
    maxBatch: options.maxBatch ?? 2,
    async send(batch: ReadonlyArray<Rendered>, signal: AbortSignal): Promise<Outcome[]> {
      if (signal.aborted) return batch.map(() => ({ kind: 'retryable', reason: 'not-sent', because: 'not-sent' }));
      calls.push({ at: Date.now(), ids: batch.map((item) => item.recipient.vars.id) });
      const answers = batch.map((item) => {
        const attempt = (attempts.get(item.recipient.key) ?? 0) + 1;
        attempts.set(item.recipient.key, attempt);
        return script(item.recipient, attempt);
      });
      if (answers.includes('hang')) return new Promise((resolve) => hung.push(() => resolve(batch.map(() => ({ kind: 'retryable', reason: 'not-sent', because: 'not-sent' })))));
      return answers as Outcome[];
    },
    abandon:
      abandonAfterMs === undefined
        ? undefined
        : () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                for (const answer of hung.splice(0)) answer();
                resolve();
              }, abandonAfterMs),
            ),
    async close() {},
  };
  const source: ProviderSource = {
    refuse: () => undefined,
    build: (message) => ({ ok: true, payload: message }),
    scopeOf: (item) => options.scopeOf?.(item.recipient),
    get: async () => provider,
  };
  /** How many times each recipient was sent. */
  const sends = () => calls.flatMap((call) => call.ids).reduce<Record<string, number>>((counts, id) => ({ ...counts, [id]: (counts[id] ?? 0) + 1 }), {});
  return { source, calls, sends };
}

/** `count` FCM devices, lines 2 onwards, each with its `id` as a template variable. */
function devices(count: number, prefix = 'd'): DeviceRecipient[] {
  return Array.from({ length: count }, (_, index) => device('fcm', `${prefix}${index}`, { line: index + 2, vars: { id: `${prefix}${index}` } }));
}

async function* rowsOf(recipients: DeviceRecipient[]): AsyncIterable<AudienceRow> {
  yield* recipients;
}

const template = new CompiledTemplate({ kind: 'notification', title: 'Hi {{id}}' });

function options(source: ProviderSource, more: Partial<CampaignOptions> = {}): CampaignOptions {
  return { template, providers: source, inFlight: { fcm: 2, apns: 2, webpush: 2 }, maxAttempts: 3, maxRetryMs: 600_000, stallMs: 30_000, random: () => 0, ...more };
}

const accepted: Outcome = { kind: 'accepted' };

/** Runs the campaign on the fake clock, firing its timers one by one until it ends. */
async function runOnFakeClock(recipients: DeviceRecipient[], campaign: CampaignOptions): Promise<Tally> {
  let tally: Tally | undefined;
  let failure: unknown;
  void runCampaign(rowsOf(recipients), campaign).then(
    (result) => (tally = result),
    (error: unknown) => (failure = error),
  );
  // The stall watchdog always has a next tick: bound the steps, not the time.
  for (let step = 0; step < 100_000 && tally === undefined && failure === undefined; step++) await vi.advanceTimersToNextTimerAsync();
  if (failure) throw failure;
  if (!tally) throw new Error('the campaign never ended');
  return tally;
}

describe('runCampaign, with a scripted provider on a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends each recipient once, in batches no larger than the provider takes', async () => {
    const provider = scriptedProvider(() => accepted, { maxBatch: 2 });
    const tally = await runOnFakeClock(devices(5), options(provider.source));
    expect(tally.counts).toMatchObject({ targeted: 5, accepted: 5, failed: 0, uncertain: 0 });
    expect(provider.calls.map((call) => call.ids.length)).toEqual([2, 2, 1]);
    expect(Object.values(provider.sends())).toEqual([1, 1, 1, 1, 1]);
  });

  it("honours a quota's Retry-After for the whole provider: nothing is sent before it ends", async () => {
    const provider = scriptedProvider((recipient, attempt) =>
      recipient.vars.id === 'd0' && attempt === 1 ? { kind: 'retryable', reason: 'rate-limited', because: 'answered', retryAfterMs: 30_000 } : accepted,
    );
    const start = Date.now();
    const tally = await runOnFakeClock(devices(6), options(provider.source));
    expect(tally.counts).toMatchObject({ targeted: 6, accepted: 6 });
    expect(tally.retries).toBe(1);
    // The first batch was answered at `start`; every later batch waited out the quota's 30 s.
    expect(provider.calls[0].at).toBe(start);
    expect(provider.calls.slice(1).map((call) => call.at - start)).toEqual(provider.calls.slice(1).map(() => 30_000));
  });

  it('waits out a backoff for the one device a device-rate limit names, while the others go on', async () => {
    const provider = scriptedProvider((recipient, attempt) =>
      recipient.vars.id === 'd0' && attempt === 1 ? { kind: 'retryable', reason: 'device-rate-limited', because: 'answered' } : accepted,
    );
    const start = Date.now();
    const tally = await runOnFakeClock(devices(6), options(provider.source));
    expect(tally.counts.accepted).toBe(6);
    const retry = provider.calls.find((call, index) => index > 0 && call.ids.includes('d0'))!;
    // retryDelay(1) with random 0: half of its 1 s ceiling. The others did not wait for it.
    expect(retry.at - start).toBe(500);
    expect(provider.calls.filter((call) => call.at === start).flatMap((call) => call.ids)).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5']);
  });

  it('spends no attempt on a stream refused unread, and gives up on a 5xx after --max-attempts', async () => {
    const provider = scriptedProvider((recipient, attempt) => {
      if (recipient.vars.id === 'd0') return attempt <= 2 ? { kind: 'retryable', reason: 'refused-stream', because: 'refused' } : accepted;
      return { kind: 'retryable', reason: 'unavailable', because: 'answered', detail: '503' };
    });
    const tally = await runOnFakeClock(devices(2), options(provider.source, { maxAttempts: 2 }));
    expect(provider.sends()).toEqual({ d0: 3, d1: 2 });
    expect(tally.counts).toMatchObject({ accepted: 1, failed: 1 });
    expect(tally.failedByReason).toEqual({ unavailable: 1 });
  });

  it('never sends again what may have reached the provider (uncertain), and never retries an invalid token', async () => {
    const provider = scriptedProvider((recipient) =>
      recipient.vars.id === 'd0' ? { kind: 'uncertain', reason: 'timeout' } : recipient.vars.id === 'd1' ? { kind: 'invalid', reason: 'unregistered' } : accepted,
    );
    const tally = await runOnFakeClock(devices(3), options(provider.source));
    expect(provider.sends()).toEqual({ d0: 1, d1: 1, d2: 1 });
    expect(tally.counts).toMatchObject({ accepted: 1, invalid: 1, uncertain: 1 });
  });

  it('halts only the scope that refused the sender for everyone; the rest of the campaign goes on', async () => {
    const refused: Outcome = { kind: 'rejected', reason: 'credentials-refused', scope: 'https://a.example', wrongSender: { fix: 'check the VAPID key', when: 'all' } };
    const scopeOf = (recipient: DeviceRecipient) => (Number(recipient.vars.id.slice(1)) % 2 === 0 ? 'https://a.example' : 'https://b.example');
    const provider = scriptedProvider((recipient) => (scopeOf(recipient) === 'https://a.example' ? refused : accepted), { scopeOf });
    const tally = await runOnFakeClock(devices(60), options(provider.source));
    expect(tally.status).toBe('done');
    expect(tally.halted).toEqual([{ provider: 'fcm', scope: 'https://a.example', reason: 'credentials-refused-for-all', fix: expect.stringContaining('check the VAPID key') }]);
    expect(tally.counts).toMatchObject({ targeted: 60, accepted: 30, failed: 30, rejected: 0 });
    // Once halted, its recipients fail without being sent: fewer of scope a went out than exist.
    const sentToA = Object.keys(provider.sends()).filter((id) => Number(id.slice(1)) % 2 === 0);
    expect(sentToA.length).toBeLessThan(30);
  });

  it('stops a provider that answers nothing for --stall-timeout: in flight is uncertain, queued is failed, nothing is lost', async () => {
    const provider = scriptedProvider(() => 'hang');
    const start = Date.now();
    const tally = await runOnFakeClock(devices(7), options(provider.source, { stallMs: 20_000, countUnreached: true }));
    expect(tally.status).toBe('stopped');
    expect(tally.fatal).toMatchObject({ provider: 'fcm', reason: 'provider-stalled' });
    // Two in flight (the lane's limit), answered by nobody: maybe sent. The next batch, queued,
    // never left: failed, for a later run. The rows not read yet are not sent, and noted as unreached.
    expect(provider.calls.flatMap((call) => call.ids)).toEqual(['d0', 'd1']);
    expect(tally.counts).toMatchObject({ targeted: 4, uncertain: 2, failed: 2, skipped: 3, accepted: 0 });
    expect(tally.uncertainByReason).toEqual({ 'provider-stalled': 2 });
    expect(tally.failedByReason).toEqual({ 'provider-stalled': 2 });
    expect(tally.unreached).toEqual({ rows: 3, fromLine: 6, toLine: 8 });
    // It ended after the stall bound and the abandon grace, not before.
    expect(Date.now() - start).toBeGreaterThanOrEqual(20_000);
  });

  it('waits for a provider that says when it has abandoned its requests: one that never left is failed, not maybe sent, however late it says so', async () => {
    // Sending threads on a busy machine: the answers come seconds after the stall, past the 1 s grace.
    const provider = scriptedProvider(() => 'hang', { abandonAfterMs: 5000 });
    const tally = await runOnFakeClock(devices(2), options(provider.source, { stallMs: 20_000 }));
    expect(tally.fatal).toMatchObject({ reason: 'provider-stalled' });
    expect(tally.counts).toMatchObject({ targeted: 2, uncertain: 0, failed: 2 });
    expect(tally.failedByReason).toEqual({ 'provider-stalled': 2 });
  });

  it('stops sending on the signal, and counts the rows it never reached as not sent', async () => {
    const stop = new AbortController();
    const provider = scriptedProvider((recipient) => {
      if (recipient.vars.id === 'd1') stop.abort();
      return accepted;
    });
    const tally = await runOnFakeClock(devices(6), options(provider.source, { signal: stop.signal, countUnreached: true }));
    expect(tally.status).toBe('interrupted');
    expect(provider.calls.flatMap((call) => call.ids)).toEqual(['d0', 'd1']);
    expect(tally.counts).toMatchObject({ targeted: 2, accepted: 2, skipped: 4 });
    expect(tally.skippedByReason).toEqual({ 'not-sent': 4 });
    expect(tally.unreached).toEqual({ rows: 4, fromLine: 4, toLine: 7 });
  });
});

describe('runCampaign resumed from its journal', () => {
  it('sends, on the next run, exactly the recipients the stopped one did not settle, and counts the others as earlier', async () => {
    const journalPath = join(tempDir(), 'campaign.jsonl');
    const recipients = devices(10);
    const stop = new AbortController();
    const first = scriptedProvider((recipient) => {
      if (recipient.vars.id === 'd3') stop.abort();
      return recipient.vars.id === 'd2' ? { kind: 'uncertain', reason: 'timeout' } : accepted;
    });
    const firstWriter = await JournalWriter.open(journalPath, { campaign: 'resume', version: 'test' });
    const stopped = await runCampaign(rowsOf(recipients), {
      ...options(first.source, { signal: stop.signal, countUnreached: true }),
      journal: { writer: firstWriter, prior: { get: () => undefined }, resendUncertain: false },
    });
    await firstWriter.close();
    expect(stopped.status).toBe('interrupted');

    const earlier = await readJournal(journalPath);
    const second = scriptedProvider(() => accepted);
    const secondWriter = await JournalWriter.open(journalPath, { campaign: 'resume', version: 'test' });
    const resumed = await runCampaign(rowsOf(recipients), {
      ...options(second.source),
      journal: { writer: secondWriter, prior: earlier.prior, resendUncertain: false },
    });
    await secondWriter.close();

    const firstSent = Object.keys(first.sends());
    expect(firstSent).toEqual(['d0', 'd1', 'd2', 'd3']);
    // Nobody twice: the maybe-delivered d2 is not resent without --resend-uncertain.
    expect(Object.keys(second.sends()).sort()).toEqual(['d4', 'd5', 'd6', 'd7', 'd8', 'd9']);
    expect(resumed.earlier).toBe(4);
    expect(resumed.counts).toMatchObject({ targeted: 10, accepted: 9, uncertain: 1 });
    expect(resumed.uncertainByReason).toEqual({ 'unanswered-earlier': 1 });
  });
});
