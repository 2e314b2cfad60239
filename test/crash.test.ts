import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBehaviour, fateOf } from '../src/emulator/fate.js';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { emulatorProcessStats, startEmulatorProcess } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { waitFor } from './helpers/wait-for.js';
import { apnsToken, emulatorSubscription, fcmToken, tempDir, tempFile } from './helpers/tokens.js';
import { subscriptionCell } from './helpers/audience.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/pushcast.js');
const size = 20_000;
const seed = 'crash';
const behaviour = { ...defaultBehaviour, seed, unregistered: 0.05, unavailable: 0.02 };

/** Every recipient as the emulator names it: the token, or the web push endpoint. */
const recipients: Array<{ provider: 'fcm' | 'apns' | 'webpush'; token: string }> = [];
const rows = ['provider,token,name'];
for (let i = 0; i < size; i++) {
  const provider = (['fcm', 'apns', 'webpush'] as const)[i % 3];
  if (provider === 'webpush') {
    const subscription = emulatorSubscription(`k${i}`);
    recipients.push({ provider, token: subscription.endpoint });
    rows.push(`webpush,${subscriptionCell(subscription)},U${i}`);
  } else {
    const token = provider === 'fcm' ? fcmToken(`k${i}`) : apnsToken(`k${i}`);
    recipients.push({ provider, token });
    rows.push(`${provider},${token},U${i}`);
  }
}
const audience = tempFile('crash.csv', `${rows.join('\n')}\n`);
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'Crash test' }));
/**
 * Where each kill lands is drawn from a seed, printed, so that a failure can be replayed:
 * PUSHCAST_CRASH_SEED=N npx vitest run test/crash.test.ts.
 */
const killSeed = Number(process.env.PUSHCAST_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`crash test: kill points drawn from seed ${killSeed} (PUSHCAST_CRASH_SEED=${killSeed} draws them again)`);
/** Deliveries to let land before each kill: 300 to 2,300, from the seed (a linear congruential sequence). */
function killPoints(seed: number, count: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return 300 + Math.floor((state / 2 ** 31) * 2000);
  });
}
/** Three rounds of kills, then a resume, of 20,000 recipients: minutes on a busy machine. */
const crashTestTimeoutMs = 600_000;

// 503 strikes a first attempt only: a token's lasting fate is its second attempt's.
const dead = new Set(recipients.filter(({ provider, token }) => fateOf(behaviour, provider, token, 2) === 'unregistered').map(({ token }) => token));

// From the main thread and from sending threads: the engine and journal are one either way, the
// clients and their sockets are not.
describe.each([0, 2])(`kill -9 during a ${size}-recipient campaign, then resume (--workers %i)`, (workers) => {
  const dir = tempDir();
  const threads = ['--workers', String(workers)];
  const log = join(dir, 'delivered.jsonl');
  let emulator: ChildProcess;

  beforeAll(async () => {
    // The emulator lives in its own process: it must outlive the senders it sees killed.
    ({ child: emulator } = await startEmulatorProcess(dir, ['--seed', seed, '--unregistered', '0.05', '--unavailable', '0.02', '--latency', '2', '--log', log]));
  });
  afterAll(() => emulator.kill('SIGKILL'));

  const send = (...extra: string[]) =>
    runCli(['send', '--config', join(dir, 'pushcast.emulator.json'), '-a', audience, '-m', message, '--campaign', 'crash', '--json', ...threads, ...extra], { cwd: dir });

  const logged = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  /** What the emulator accepted, once its log (appended asynchronously) has caught up with its counters. */
  const deliveredTokens = async (): Promise<string[]> => {
    const stats = await emulatorProcessStats(join(dir, 'pushcast.emulator.json'));
    const accepted = Object.values(stats.accepted).reduce((sum, n) => sum + n, 0);
    const lines = await waitFor(() => logged().length >= accepted && logged(), `the emulator's log to reach ${accepted} lines`);
    return lines.map((line) => (JSON.parse(line) as { token: string }).token);
  };

  let report: CampaignRecord;
  let killedAfter: number[];

  it('never sends a recipient twice, and accounts for every one as accepted, invalid or uncertain', { timeout: crashTestTimeoutMs }, async () => {
    killedAfter = [];
    const points = killPoints(killSeed + workers, 3);
    for (let round = 0; round < 3; round++) {
      // Counted once the log has caught up with what the emulator accepted: lines the last killed
      // run left still to be written would count as this run's, and end it before it began.
      const before = (await deliveredTokens()).length;
      const started = Date.now();
      const child = spawn(process.execPath, [bin, 'send', '--config', 'pushcast.emulator.json', '-a', audience, '-m', message, '--campaign', 'crash', '--quiet', ...threads], {
        cwd: dir,
      });
      // Killed mid-campaign: once a few hundred more deliveries have landed, wherever that falls.
      const want = before + points[round];
      // Bounded only by the test: on a machine busy with other work a round may take minutes.
      await waitFor(() => logged().length >= want || child.exitCode !== null, `${want - before} more deliveries`, 150_000);
      child.kill('SIGKILL');
      killedAfter.push(Date.now() - started);
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.on('exit', resolve)));
    }

    // What `pushcast report` says of the killed campaign, before the resume reads the same journal.
    const reported = await runCli(['report', 'crash', '--json'], { cwd: dir });
    expect(reported.code, reported.stderr).toBe(0);
    report = JSON.parse(reported.stdout);

    // The kills landed mid-campaign: some recipients had arrived, not all.
    const beforeResume = (await deliveredTokens()).length;
    expect(beforeResume, `killed after ${killedAfter.join(', ')} ms (seed ${killSeed})`).toBeGreaterThan(0);
    expect(beforeResume, `killed after ${killedAfter.join(', ')} ms (seed ${killSeed})`).toBeLessThan(size - dead.size);

    const { code, stdout } = await send();
    expect(code, `killed after ${killedAfter.join(', ')} ms (seed ${killSeed})`).toBe(0);
    const summary = JSON.parse(stdout);
    resumed = summary;
    expect(summary.counts.targeted).toBe(size);
    expect(summary.counts.accepted + summary.counts.invalid + summary.counts.uncertain).toBe(size);
    expect(summary.counts.failed).toBe(0);
    // Dead tokens in flight at a kill are uncertain too: they were maybe sent.
    expect(summary.counts.invalid).toBeLessThanOrEqual(dead.size);
    expect(summary.counts.invalid).toBeGreaterThanOrEqual(dead.size - summary.counts.uncertain);

    const delivered = await deliveredTokens();
    expect(delivered.length, 'a recipient was delivered twice').toBe(new Set(delivered).size);
    // How much of the uncertain set had reached the emulator (the live ones listed: a dead one is
    // answered, never logged). Journaled as sent just before it leaves, most of it should have.
    const arrived = new Set(delivered);
    const live = summary.uncertain.map((entry: { line: number }) => recipients[entry.line - 2].token).filter((token: string) => !dead.has(token));
    const reached = live.filter((token: string) => arrived.has(token)).length;
    console.log(
      `crash test, --workers ${workers}: ${summary.counts.uncertain} uncertain; of the ${live.length} live ones listed, the emulator received ${reached} (${Math.round((100 * reached) / Math.max(1, live.length))}%)`,
    );
    // Uncertain ones may or may not have arrived; accepted ones all did.
    expect(delivered.length).toBeGreaterThanOrEqual(summary.counts.accepted);
    expect(delivered.length).toBeLessThanOrEqual(summary.counts.accepted + summary.counts.uncertain);
  });

  let resumed: CampaignRecord;

  it('pushcast report of the killed campaign says, recipient by recipient, what the resume then found', () => {
    expect(report.status).toBe('interrupted');
    // Maybe delivered: the report's uncertain ones are exactly those the resume left alone as unanswered-earlier.
    expect(report.uncertainByReason).toEqual({ 'unanswered-earlier': report.counts.uncertain });
    expect(resumed.uncertainByReason).toEqual(report.uncertainByReason);
    if (report.uncertainNotListed === 0 && resumed.uncertainNotListed === 0) {
      expect(resumed.uncertain.map((entry) => entry.line).sort((a, b) => a - b)).toEqual(report.uncertain.map((entry) => entry.line).sort((a, b) => a - b));
    }
    // Settled ones are carried over as they were; the resume sent all the others once (its retries aside).
    expect(resumed.counts.invalid).toBeGreaterThanOrEqual(report.counts.invalid);
    expect(resumed.counts.accepted).toBeGreaterThanOrEqual(report.counts.accepted);
    expect(resumed.sends - resumed.retries).toBe(size - report.counts.targeted);
    // Those waiting for a retry when the process died were not sent yet: the resume sent them.
    expect(report.skippedByReason).toEqual(report.counts.skipped > 0 ? { 'not-sent': report.counts.skipped } : {});
    // Its duration is the last run's, to its last journal line, and the rate follows from it.
    expect(report.durationSeconds).toBeGreaterThan(0);
    expect(report.durationSeconds * 1000).toBeLessThanOrEqual(killedAfter[2]);
    expect(report.sends).toBeGreaterThan(0);
    expect(report.sendsPerSecond).toBe(Math.round(report.sends / report.durationSeconds));
  });

  it('with --resend-uncertain, none is missing', async () => {
    const { code, stdout } = await send('--resend-uncertain');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.counts.uncertain).toBe(0);
    expect(summary.counts.invalid).toBe(dead.size);
    expect(summary.counts.accepted + summary.counts.invalid).toBe(size);
    const delivered = new Set(await deliveredTokens());
    const missing = recipients.filter(({ token }) => !delivered.has(token) && !dead.has(token));
    expect(missing).toEqual([]);
  });
});
