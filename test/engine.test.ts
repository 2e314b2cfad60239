import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fateOf } from '../src/emulator/fate.js';
import { fromRanges } from '../src/journal/journal.js';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { audienceFile, tokenCell } from './helpers/audience.js';
import { waitFor } from './helpers/wait-for.js';
import { fcmToken, tempDir, tempFile } from './helpers/tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

/** One audience with all three providers, a duplicate and a bad row. */
function mixedAudience(count: number): string {
  const rows = ['provider,token,name'];
  for (let i = 0; i < count; i++) {
    const provider = (['fcm', 'apns', 'webpush'] as const)[i % 3];
    rows.push(`${provider},${tokenCell(provider, `m${i}`)},U${i}`);
  }
  rows.push(`fcm,${fcmToken('m0')},again`, 'apns,not-a-token,bad');
  return tempFile('mixed.csv', `${rows.join('\n')}\n`);
}

describe('retries', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'retry', unregistered: 0.05, tooManyRequests: 0.1, unavailable: 0.1, retryAfterSeconds: 1 });
  });
  afterAll(() => emulator.close());

  it('honours Retry-After: the next attempt comes at least that long after a 429 or 503', async () => {
    const { code, stdout } = await runCli(['send', '--config', writeEmulatorConfig(emulator), '-a', mixedAudience(150), '-m', message, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.counts).toMatchObject({ targeted: 150, failed: 0, skipped: 2 });
    expect(summary.counts.accepted + summary.counts.invalid).toBe(150);

    const log = emulator.attemptLog();
    const gaps: number[] = [];
    for (const [index, attempt] of log.entries()) {
      if (attempt.status !== 429 && attempt.status !== 503) continue;
      const next = log.slice(index + 1).find((later) => later.token === attempt.token && later.provider === attempt.provider);
      expect(next, `${attempt.provider} ${attempt.token.slice(0, 12)} was never retried`).toBeDefined();
      gaps.push(next!.at - attempt.at);
    }
    // firebase-admin retries 503 itself, honouring Retry-After too: those gaps count as well.
    expect(gaps.length).toBeGreaterThan(10);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
    expect(emulator.stats().duplicates).toBe(0);
  });
});

describe('shards, rate, thresholds and interruption', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'engine', unregistered: 0.1 });
  });
  afterAll(() => emulator.close());
  beforeEach(() => emulator.reset());

  it('4 shards of one audience cover it exactly once', async () => {
    const audience = mixedAudience(600);
    const config = writeEmulatorConfig(emulator);
    const summaries: Array<{ counts: Record<string, number> }> = [];
    for (let k = 1; k <= 4; k++) {
      const { code, stdout } = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--shard', `${k}/4`, '--json']);
      expect(code).toBe(0);
      summaries.push(JSON.parse(stdout));
    }
    const stats = emulator.stats();
    expect(stats.duplicates).toBe(0);
    const total = (key: string) => summaries.reduce((sum, summary) => sum + summary.counts[key], 0);
    expect(total('targeted')).toBe(600);
    expect(total('accepted')).toBe(stats.accepted.fcm + stats.accepted.apns + stats.accepted.webpush);
    expect(total('accepted') + total('invalid')).toBe(600);
    expect(total('skipped')).toBe(2); // the duplicate and the bad row, each reported by one shard
    for (const summary of summaries) expect(summary.counts.targeted).toBeGreaterThan(100); // a fair split
  });

  it('--rate spreads the sends over time', async () => {
    const { code } = await runCli(['send', '--config', writeEmulatorConfig(emulator), '-a', audienceFile('fcm', 300, 'rate'), '-m', message, '--rate', '100/s']);
    expect(code).toBe(0);
    const times = emulator.attemptLog().map((attempt) => attempt.at);
    // 300 sends at 100/s with a one-second burst: the last goes out 2 s after the first batch.
    // A margin of 0.5 s absorbs a slow first connection on a loaded machine; an unthrottled run takes ~0.1 s.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(1500);
  });

  it('exits 3 when a threshold is crossed, and 0 when it is not', async () => {
    const config = writeEmulatorConfig(emulator);
    const dead = liveOrDead('unregistered');
    const smoke = await runCli(['send', '--config', config, '-p', 'fcm', '-t', dead, '--title', 'smoke', '--require-all-accepted']);
    expect(smoke.code).toBe(3);
    expect(smoke.stderr).toContain('--require-all-accepted: 1 invalid');
    const live = await runCli(['send', '--config', config, '-p', 'fcm', '-t', liveOrDead('accept'), '--title', 'smoke', '--require-all-accepted']);
    expect(live.code).toBe(0);

    const audience = audienceFile('apns', 200, 'threshold');
    const strictRate = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--max-invalid-rate', '1%', '--campaign', 'threshold-1']);
    expect(strictRate.code).toBe(3);
    expect(strictRate.stderr).toMatch(/% of tokens are invalid, over --max-invalid-rate 1.0%/);
    const looseRate = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--max-invalid-rate', '50%', '--max-failed', '0', '--campaign', 'threshold-2']);
    expect(looseRate.code).toBe(0);
  });

  function liveOrDead(fate: 'accept' | 'unregistered'): string {
    for (let i = 0; ; i++) if (fateOf(emulator.behaviour, 'fcm', fcmToken(`t${i}`), 1) === fate) return fcmToken(`t${i}`);
  }

  it.each([0, 2])('on SIGINT drains what is in flight, writes the journal, reports, exits 130, and a re-run finishes the rest (--workers %i)', async (workers) => {
    const slow = await startEmulator({ seed: 'slow', latencyMs: 100 });
    try {
      const dir = tempDir();
      const config = writeEmulatorConfig(slow, {}, dir);
      const audience = audienceFile('apns', 3000, 'sigint');
      const args = [join(root, 'bin/pushcast.js'), 'send', '--config', config, '-a', audience, '-m', message, '--campaign', 'interrupt-me', '--json', '--workers', String(workers)];
      const child = spawn(process.execPath, args, { cwd: dir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor(() => slow.stats().accepted.apns >= 300, '300 APNs messages accepted');
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(130);
      expect(stderr).toMatch(/interrupted; lines \d+ to 3001 \(\d+ recipients\) were not reached before the run stopped; run the same command again to resume/);
      const partial = JSON.parse(stdout);
      expect(partial.status).toBe('interrupted');
      // Everything that reached the emulator was answered and counted: nothing left uncertain.
      expect(partial.counts.accepted).toBe(slow.stats().accepted.apns);
      expect(partial.counts.uncertain).toBe(0);
      const journal = readFileSync(join(dir, '.pushcast', 'interrupt-me.jsonl'), 'utf8');
      // Each answered batch's `ok` line lists its accepted recipients.
      const journaledAccepted = journal
        .split('\n')
        .filter((line) => line.startsWith('{"t":"ok"'))
        .flatMap((line) => fromRanges((JSON.parse(line) as { i: string }).i));
      expect(journaledAccepted).toHaveLength(partial.counts.accepted);

      const rest = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'interrupt-me', '--json'], { cwd: dir });
      expect(rest.code).toBe(0);
      const summary = JSON.parse(rest.stdout);
      expect(summary.counts).toMatchObject({ targeted: 3000, accepted: 3000, uncertain: 0 });
      expect(slow.stats().accepted.apns).toBe(3000);
      expect(slow.stats().duplicates).toBe(0);
    } finally {
      await slow.close();
    }
  });
});
