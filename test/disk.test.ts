import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { audienceFile } from './helpers/audience.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/**
 * A disk that fills up under the journal. `ulimit -f` makes the kernel do what a nearly full
 * filesystem does: a write that crosses the limit is cut short without an error (Node ignores
 * SIGXFSZ), and the next one fails (EFBIG, as ENOSPC would). The journal is then the first file
 * to hit the limit; the report, smaller, still fits.
 */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ latencyMs: 5 });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

describe('a disk that fills up under the journal', () => {
  it.each([0, 2])('stops sending, drains, reports, exits 2 with one line; a re-run sends the rest, nobody twice (--workers %i)', async (workers) => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('apns', 3000, `full-${workers}`);
    // 100 in flight: the report of the cut campaign lists those as uncertain, and must fit under the limit too.
    const args = [
      'send',
      '--config',
      config,
      '-a',
      audience,
      '-m',
      message,
      '--campaign',
      'full',
      '--report',
      'report.json',
      '--quiet',
      '--workers',
      String(workers),
      '--concurrency',
      '100',
    ];
    // 64 blocks: 32 KiB, about a third of this campaign's journal.
    const cut = await spawnCli(args, { cwd: dir, fileSizeBlocks: 64 });
    const journal = join(dir, '.pushcast', 'full.jsonl');
    expect(cut.code, cut.stderr).toBe(2);
    expect(statSync(journal).size).toBe(64 * 512); // the journal really hit the limit
    const lines = cut.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('pushcast: stopping:'));
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`^pushcast: stopped \\(journal-write-failed\\): ${journal.replace(/[.]/g, '\\.')}: EFBIG: file too large, write: the campaign journal cannot be written`),
      ),
    ]);
    expect(cut.stderr).not.toMatch(/\n\s+at /); // never a stack trace
    // The same line says which lines the stopped run never reached.
    expect(lines[0]).toMatch(/; lines \d+ to 3001 \(\d+ recipients\) were not reached before the run stopped$/);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ status: 'stopped', fatal: { reason: 'journal-write-failed' }, unreached: { toLine: 3001 } });
    // Every row is counted: sent, in flight, or not reached (skipped not-sent, and the next run sends them).
    expect(report.counts.targeted + report.counts.skipped).toBe(3000);
    expect(report.skippedByReason['not-sent']).toBeGreaterThanOrEqual(report.unreached.rows);
    const acceptedBefore = emulator.stats().accepted.apns;
    expect(report.counts.accepted).toBe(acceptedBefore);
    expect(acceptedBefore).toBeGreaterThan(0);
    expect(acceptedBefore).toBeLessThan(3000);

    const rest = await spawnCli(
      args.map((arg) => (arg === '--quiet' ? '--json' : arg)),
      { cwd: dir },
    );
    expect(rest.code, rest.stderr).toBe(0);
    const record = JSON.parse(rest.stdout);
    // Every recipient accounted for: accepted, or held as uncertain where the journal lost its answer.
    expect(record.counts.accepted + record.counts.uncertain).toBe(3000);
    // The uncertain ones were answered in the first run, but the full disk lost those answers.
    expect(emulator.stats().accepted.apns).toBeGreaterThanOrEqual(record.counts.accepted);
    expect(emulator.stats().accepted.apns).toBeLessThanOrEqual(record.counts.accepted + record.counts.uncertain);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('that is full from the start: nothing is sent', async () => {
    const dir = tempDir();
    const result = await spawnCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 50, 'nospace'), '-m', message, '--campaign', 'none'], {
      cwd: dir,
      fileSizeBlocks: 0,
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^pushcast: .*\.pushcast\/none\.jsonl\.lock: EFBIG: file too large, write: the campaign journal cannot be written/);
    expect(existsSync(join(dir, '.pushcast', 'none.jsonl.lock'))).toBe(false);
    expect(emulator.stats().requests.fcm).toBe(0);
  });
});
