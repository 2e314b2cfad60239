import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTimeText } from '../src/domain/zoned-time.js';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir, tempFile } from './helpers/tokens.js';
import { waitFor } from './helpers/wait-for.js';

/** `pushcast report` with no campaign: the campaigns of the journal folder, the one that ran last first. */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi', body: 'News' }));

let emulator: Emulator;
/** Refuses every credential, as a wrong APNs key: the campaign stops. */
let refusing: Emulator;
beforeAll(async () => {
  // Slow enough answers that a run can be stopped halfway.
  emulator = await startEmulator({ seed: 'listed', latencyMs: 20 });
  refusing = await startEmulator({ seed: 'refusing', unauthorized: 1 });
});
afterAll(async () => {
  await emulator.close();
  await refusing.close();
});

describe('pushcast report with no campaign', () => {
  it('says a folder with no campaigns has none, and exits 0; --json prints []', async () => {
    const dir = tempDir();
    const missing = await runCli(['report'], { cwd: dir });
    expect(missing).toEqual({ code: 0, stdout: `no campaigns in ${join(dir, '.pushcast')} (no such folder: is --journal-dir right?)\n`, stderr: '' });
    mkdirSync(join(dir, 'journals'));
    expect(await runCli(['report', '--journal-dir', 'journals'], { cwd: dir })).toEqual({ code: 0, stdout: `no campaigns in ${join(dir, 'journals')}\n`, stderr: '' });
    expect(await runCli(['report', '--json'], { cwd: dir })).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });

  it('lists done, stopped, sharded, interrupted and died campaigns, the one that ran last first, each as its own report counts it', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const send = (campaign: string, more: string[], options: { signal?: AbortSignal; config?: string } = {}) =>
      runCli(['send', '--config', options.config ?? config, '--campaign', campaign, '-m', message, '--json', ...more], { cwd: dir, signal: options.signal });

    expect((await send('done-one', ['-a', audienceFile('fcm', 20, 'done')])).code).toBe(0);
    const refusingConfig = writeEmulatorConfig(refusing, {}, tempDir());
    const stopped = await send('stopped-one', ['-a', audienceFile('apns', 30, 'refused')], { config: refusingConfig });
    expect(JSON.parse(stopped.stdout).status).toBe('stopped');
    const shardAudience = audienceFile('fcm', 40, 'sharded');
    for (const shard of ['1/2', '2/2']) expect((await send('sharded-one', ['-a', shardAudience, '--shard', shard])).code).toBe(0);

    // Interrupted halfway (Ctrl-C): the run ends and says so.
    const slow = audienceFile('apns', 2000, 'slow');
    const controller = new AbortController();
    const before = emulator.stats().requests.apns;
    const interrupted = send('interrupted-one', ['-a', slow, '--concurrency', '5'], { signal: controller.signal });
    await waitFor(() => emulator.stats().requests.apns >= before + 50, 'the interrupted run to send 50');
    controller.abort();
    expect((await interrupted).code).toBe(130);

    // Killed halfway (kill -9): the run wrote no end line.
    const started = emulator.stats().requests.apns;
    const killed = spawnCli(['send', '--config', config, '--campaign', 'died-one', '-a', slow, '-m', message, '--concurrency', '5', '--quiet'], { cwd: dir });
    await waitFor(() => emulator.stats().requests.apns >= started + 50, 'the killed run to send 50', 30_000);
    killed.child.kill('SIGKILL');
    expect((await killed).signal).toBe('SIGKILL');

    const { code, stdout, stderr } = await runCli(['report', '--json'], { cwd: dir });
    expect(code, stderr).toBe(0);
    const listed = JSON.parse(stdout) as Array<{ campaign: string; status: string; lastRunAt: string; runs?: number; counts?: object; journals: string[] }>;
    expect(listed.map(({ campaign, status }) => [campaign, status])).toEqual([
      ['died-one', 'died'],
      ['interrupted-one', 'interrupted'],
      ['sharded-one', 'done'],
      ['stopped-one', 'stopped'],
      ['done-one', 'done'],
    ]);
    // Each counts as `pushcast report CAMPAIGN` does, shards merged; one that died, when its journal was last written.
    for (const entry of listed.filter((campaign) => campaign.status !== 'died')) {
      const report = JSON.parse((await runCli(['report', entry.campaign, '--json'], { cwd: dir })).stdout);
      const { targeted, accepted, skipped } = report.counts;
      expect(entry, entry.campaign).toMatchObject({ lastRunAt: report.finishedAt, runs: report.overall.runs, counts: { targeted, accepted, skipped } });
    }
    expect(listed.find((entry) => entry.campaign === 'sharded-one')).toMatchObject({ runs: 2, counts: { targeted: 40 } });
    const died = listed[0];
    expect(died.journals).toEqual([join(dir, '.pushcast', 'died-one.jsonl')]);
    expect(died).toEqual({ campaign: 'died-one', status: 'died', lastRunAt: statSync(died.journals[0]).mtime.toISOString(), journals: died.journals });

    // For a person: one line each, in the same order, with the time in this machine's zone.
    const text = await runCli(['report'], { cwd: dir });
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^campaign +status +last ran +runs +targeted +accepted +skipped$/);
    listed.forEach((entry, index) => {
      const line = lines[index + 1];
      expect(line.split(/ {2,}/).slice(0, 3), line).toEqual([entry.campaign, entry.status, localTimeText(Date.parse(entry.lastRunAt))]);
    });
    expect(lines[1]).toMatch(/ +- +- +- +-$/);
    expect(lines.find((line) => line.startsWith('sharded-one'))).toMatch(/ +2 +40 +\d+ +\d+ +2 shards$/);
    expect(text.stdout).toContain('\ndied: its last run wrote no end line: it was killed before it could report');
  });
});
