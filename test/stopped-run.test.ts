import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { waitFor } from './helpers/wait-for.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/**
 * A run that stops early (here SIGTERM; a stalled provider and a full disk in delivery.test.ts and
 * disk.test.ts) accounts for every row of its audience: the ones it never reached are counted,
 * said by line, and listed in --failed-out with the rest of what was not sent, so that sending
 * that file reaches everyone the run did not, once.
 */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'Stopped' }));
const size = 3000;

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'stopped', latencyMs: 100 });
});
afterAll(() => emulator.close());

/** Sends, and SIGTERMs the process once `accepted` more recipients have arrived. */
async function stoppedAfter(args: string[], cwd: string, accepted: number): Promise<{ code: number | null; record: CampaignRecord; stderr: string }> {
  const before = emulator.stats().accepted.apns;
  const run = spawnCli(args, { cwd });
  await waitFor(() => emulator.stats().accepted.apns >= before + accepted, `${accepted} deliveries`, 30_000);
  run.child.kill('SIGTERM');
  const { code, stdout, stderr } = await run;
  return { code, record: JSON.parse(stdout) as CampaignRecord, stderr };
}

describe('a run stopped halfway', () => {
  it('without a journal: its counts and --failed-out add up to the file, and sending that file reaches the rest, once', async () => {
    emulator.reset();
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('apns', size, 'half');
    const args = ['send', '--config', config, '-a', audience, '-m', message, '--no-journal', '--failed-out', 'rest.csv', '--concurrency', '100', '--json'];
    const { code, record, stderr } = await stoppedAfter(args, dir, 300);
    expect(code, stderr).toBe(130);
    expect(record.counts.targeted + record.counts.skipped).toBe(size);
    expect(record.counts.accepted).toBe(emulator.stats().accepted.apns);
    expect(record.unreached).toMatchObject({ toLine: size + 1 });
    expect(record.unreached!.rows).toBeGreaterThan(0);
    expect(stderr).toMatch(
      new RegExp(`interrupted; lines \\d+ to ${size + 1} \\(\\d+ recipients\\) were not reached before the run stopped; those not sent are in rest\\.csv: send that file`),
    );
    const rest = readFileSync(join(dir, 'rest.csv'), 'utf8').trim().split('\n').slice(1);
    const notSent = record.counts.failed + (record.skippedByReason['not-sent'] ?? 0);
    expect(rest).toHaveLength(notSent);
    expect(record.counts.accepted + record.counts.uncertain + notSent).toBe(size);

    const again = await runCli(['send', '--config', config, '-a', join(dir, 'rest.csv'), '-m', message, '--no-journal', '--json'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).counts.accepted).toBe(notSent);
    expect(emulator.stats().accepted.apns).toBe(size);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('with a journal: it says which lines were not reached, and the same command sends them', async () => {
    emulator.reset();
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('apns', size, 'journaled');
    const args = ['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'half', '--concurrency', '100', '--json'];
    const { code, record, stderr } = await stoppedAfter(args, dir, 300);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(
      new RegExp(`interrupted; lines \\d+ to ${size + 1} \\(\\d+ recipients\\) were not reached before the run stopped; run the same command again to resume`),
    );
    expect(record.counts.targeted + record.counts.skipped).toBe(size);
    const text = await runCli(['report', 'half'], { cwd: dir });
    expect(text.stdout).toMatch(/were not reached before the run stopped: run the same command again to send them/);
    const rest = await runCli(args, { cwd: dir });
    expect(rest.code, rest.stderr).toBe(0);
    expect(JSON.parse(rest.stdout).counts).toMatchObject({ targeted: size, accepted: size });
    expect(emulator.stats().duplicates).toBe(0);
  });
});
