import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finalKinds } from '../src/domain/outcome.js';
import { providerNames } from '../src/domain/recipient.js';
import type { FeedLine } from '../src/report/events-feed.js';
import { mixedAudienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/**
 * What a run leaves for other systems besides its report: the events feed a backend reads while the
 * campaign runs (--events), and the metrics file node_exporter's textfile collector reads after it
 * (--metrics-file). Driven through the CLI against the emulator; the emulator's counts are the truth.
 */

const message = tempFile('message.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));
let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** An audience of 30 devices of all three providers, and a row that is no device. */
function audienceWithABadRow(): string {
  const good = readFileSync(mixedAudienceFile(30, 'feed'), 'utf8');
  return tempFile('audience.csv', `${good}fcm,,Nobody\n`);
}

function feedLines(file: string): FeedLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FeedLine);
}

/** How many lines of the feed say each outcome, by provider: the report's shape. */
function countsOf(lines: FeedLine[]): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const line of lines) {
    const provider = (counts[line.provider ?? 'none'] ??= {});
    provider[line.outcome] = (provider[line.outcome] ?? 0) + 1;
  }
  return counts;
}

/** The record's counts in the same shape, leaving out the zeros. */
function recordCounts(record: { providers: Record<string, Record<string, number>>; unroutedSkipped: number }): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const provider of providerNames) for (const kind of finalKinds) if (record.providers[provider][kind] > 0) (counts[provider] ??= {})[kind] = record.providers[provider][kind];
  if (record.unroutedSkipped > 0) counts.none = { skipped: record.unroutedSkipped };
  return counts;
}

describe('--events', () => {
  it("writes one line per recipient as it settles, whose outcomes add up to the report's counts, run after run", async () => {
    emulator = await startEmulator({ seed: 'feed', unregistered: 0.2 });
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceWithABadRow();
    const send = () => runCli(['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'feed', '--events', 'events.jsonl', '--json'], { cwd: dir });

    const first = await send();
    expect(first.code, first.stderr).toBe(0);
    const record = JSON.parse(first.stdout);
    const lines = feedLines(join(dir, 'events.jsonl'));
    expect(lines).toHaveLength(31);
    expect(countsOf(lines)).toEqual(recordCounts(record));
    // What the emulator took and refused, token by token.
    const accepted = lines.filter((line) => line.outcome === 'accepted');
    expect(accepted).toHaveLength(emulator.stats().accepted.fcm + emulator.stats().accepted.apns + emulator.stats().accepted.webpush);
    const invalid = lines.filter((line) => line.outcome === 'invalid');
    expect(invalid.length).toBeGreaterThan(0);
    const refused = new Set(
      emulator
        .attemptLog()
        .filter((attempt) => attempt.status === 404 || attempt.status === 410 || attempt.status === 400)
        .map((attempt) => attempt.token),
    );
    for (const line of invalid) {
      expect(line.reason, JSON.stringify(line)).toBeTruthy();
      expect(refused.has(line.token!), line.token).toBe(true);
    }
    expect(lines.find((line) => line.outcome === 'skipped')).toMatchObject({ line: 32, reason: 'empty-token', campaign: 'feed' });
    expect(lines.every((line) => line.campaign === 'feed' && !Number.isNaN(Date.parse(line.at)))).toBe(true);
    expect(statSync(join(dir, 'events.jsonl')).mode & 0o777).toBe(0o600);

    // Run again, the campaign resumes: nothing is sent, and each recipient is counted again as an earlier run left it.
    const before = emulator.stats().requests;
    const second = await send();
    expect(second.code, second.stderr).toBe(0);
    expect(emulator.stats().requests).toEqual(before);
    const again = feedLines(join(dir, 'events.jsonl')).slice(31);
    expect(countsOf(again)).toEqual(recordCounts(JSON.parse(second.stdout)));
    expect(again.filter((line) => line.outcome !== 'skipped').every((line) => line.earlier)).toBe(true);
  });

  it('to standard output (-) leaves the summary to standard error, and is refused beside --json before anything is sent', async () => {
    emulator = await startEmulator({ seed: 'feed-stdout' });
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = mixedAudienceFile(6, 'out');
    const sent = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--no-journal', '--events', '-'], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    const lines = sent.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(6);
    expect(lines.map((line) => (JSON.parse(line) as FeedLine).outcome)).toEqual(Array(6).fill('accepted'));
    expect(sent.stderr).toContain('accepted');

    const refused = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--no-journal', '--events', '-', '--json'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'error', error: { code: 'PUSHCAST_USAGE' } });
    expect(emulator.stats().requests).toEqual({ fcm: 2, apns: 2, webpush: 2 });
  });
});

/** promtool, Prometheus' own checker of the text format (Debian's prometheus package; .ci/run installs it). */
const promtool = spawnSync('promtool', ['--version']).status === 0;

/** Prometheus' own parser and linter accepts `text` (where promtool is installed; the rest of the test runs anyway). */
function expectPromtoolAccepts(text: string): void {
  if (!promtool) return;
  const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(checked.status, checked.stdout + checked.stderr).toBe(0);
}

/** The samples of a metrics file, by name and labels: `name{a="b"}` → value. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [, series, value] = /^(.+) (\S+)$/.exec(line) ?? [];
    expect(series, line).toBeDefined();
    found.set(series, Number(value));
  }
  return found;
}

describe('--metrics-file', () => {
  it("holds the run's counts and exit code in a file promtool accepts, and says a run that failed before sending failed", async () => {
    emulator = await startEmulator({ seed: 'metrics', unregistered: 0.2 });
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const metrics = join(dir, 'pushcast.prom');
    const sent = await runCli(['send', '--config', config, '-a', audienceWithABadRow(), '-m', message, '--campaign', 'weekly "news"', '--metrics-file', metrics, '--json'], {
      cwd: dir,
    });
    // A campaign id holds no quotes: the run stops before sending, and the file says so.
    expect(sent.code).toBe(1);
    let text = readFileSync(metrics, 'utf8');
    expectPromtoolAccepts(text);
    let found = samples(text);
    expect(found.get('pushcast_last_run_exit_code{campaign="weekly \\"news\\""}')).toBe(1);
    expect(found.get('pushcast_last_run_success{campaign="weekly \\"news\\""}')).toBe(0);
    expect([...found.keys()].some((series) => series.startsWith('pushcast_recipients'))).toBe(false);
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });

    const done = await runCli(['send', '--config', config, '-a', audienceWithABadRow(), '-m', message, '--campaign', 'weekly', '--metrics-file', metrics, '--json'], { cwd: dir });
    expect(done.code, done.stderr).toBe(0);
    const record = JSON.parse(done.stdout);
    text = readFileSync(metrics, 'utf8');
    expectPromtoolAccepts(text);
    found = samples(text);
    expect(found.get('pushcast_last_run_exit_code{campaign="weekly"}')).toBe(0);
    expect(found.get('pushcast_last_run_success{campaign="weekly"}')).toBe(1);
    expect(found.get('pushcast_last_run_info{campaign="weekly",status="done",command="send"}')).toBe(1);
    expect(found.get('pushcast_last_run_sends{campaign="weekly"}')).toBe(record.sends);
    for (const provider of providerNames)
      for (const outcome of finalKinds)
        expect(found.get(`pushcast_recipients{campaign="weekly",provider="${provider}",outcome="${outcome}"}`), `${provider} ${outcome}`).toBe(record.providers[provider][outcome]);
    expect(found.get('pushcast_recipients{campaign="weekly",provider="none",outcome="skipped"}')).toBe(record.unroutedSkipped);
    expect(found.get('pushcast_recipients{campaign="weekly",provider="fcm",outcome="accepted"}')).toBe(emulator.stats().accepted.fcm);
    expect(Math.abs(found.get('pushcast_last_run_timestamp_seconds{campaign="weekly"}')! - Date.now() / 1000)).toBeLessThan(600);
    // Written whole by a rename: nothing but the file is left in its folder.
    expect(readdirSync(dir).filter((name) => name.includes('.prom'))).toEqual(['pushcast.prom']);
    expect(statSync(metrics).mode & 0o777).toBe(0o644);
  });

  it('in a folder that does not exist stops the campaign before anything is sent', async () => {
    emulator = await startEmulator({ seed: 'metrics-nowhere' });
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const result = await runCli(['send', '--config', config, '-a', mixedAudienceFile(3, 'nowhere'), '-m', message, '--metrics-file', 'missing/pushcast.prom'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--metrics-file missing/pushcast.prom: the folder');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });
  });
});
