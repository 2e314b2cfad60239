import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { audienceFile } from './helpers/audience.js';
import { waitFor } from './helpers/wait-for.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/** Two runs of one campaign at once (cron overlap, a restarted pod beside its old self) must not both send. */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ latencyMs: 50 });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** A pid no process has on this machine: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('the campaign lock', () => {
  it('lets one of two processes on the same campaign send, and stops the other before it sends', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('apns', 3000, 'twice');
    const args = ['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'daily', '--json'];
    const first = spawnCli(args, { cwd: dir });
    await waitFor(() => emulator.stats().accepted.apns >= 100, 'the first run to have 100 messages accepted');
    const second = await spawnCli(args, { cwd: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `^pushcast: campaign daily is already running \\(pid \\d+ on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT[^)]+\\); if that process is gone, delete .*daily\\.jsonl\\.lock and run again\\n$`,
      ),
    );
    // --json: the one object on stdout says why, for a script.
    expect(JSON.parse(second.stdout)).toEqual({
      status: 'error',
      error: { code: 'PUSHCAST_CAMPAIGN_BUSY', reason: 'campaign-busy', message: second.stderr.slice('pushcast: '.length, -1) },
    });
    const done = await first;
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout).counts).toMatchObject({ targeted: 3000, accepted: 3000 });
    expect(emulator.stats().accepted.apns).toBe(3000);
    expect(emulator.stats().duplicates).toBe(0);
    expect(existsSync(join(dir, '.pushcast', 'daily.jsonl.lock')), 'the lock outlived its run').toBe(false);
  });

  it('takes over, with a notice, the lock of a run that died on this host', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '.pushcast'));
    const pid = await deadPid();
    writeFileSync(join(dir, '.pushcast', 'resumed.jsonl.lock'), JSON.stringify({ pid, host: hostname(), startedAt: '2026-11-30T04:00:00.000Z' }));
    const result = await spawnCli(
      ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 20, 'stale'), '-m', message, '--campaign', 'resumed', '--quiet'],
      { cwd: dir },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`pushcast: took over the lock of campaign resumed from pid ${pid}, which is no longer running`);
    expect(emulator.stats().accepted.fcm).toBe(20);
  });

  it('never guesses about a lock held on another host: it stops, and sends nothing', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '.pushcast'));
    writeFileSync(join(dir, '.pushcast', 'shared.jsonl.lock'), JSON.stringify({ pid: 7, host: 'pod-spring-sale-0-x7k2p', startedAt: '2026-11-30T04:00:00.000Z' }));
    const result = await spawnCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 20, 'remote'), '-m', message, '--campaign', 'shared'], {
      cwd: dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('campaign shared is already running (pid 7 on pod-spring-sale-0-x7k2p since 2026-11-30T04:00:00.000Z)');
    expect(emulator.stats().requests.fcm).toBe(0);
  });

  // A lock that cannot be read may be another host's, held by a run going on now: taking it over would send the campaign twice.
  const unreadable: Array<[string, string, string]> = [
    ['that is not JSON', '<<<<<<< HEAD\n', 'it is not the JSON pushcast writes'],
    [
      'whose host is forged to print a line of its own',
      `${JSON.stringify({ pid: 7, host: 'pod-0\npushcast: campaign done', startedAt: '2026-11-30T04:00:00.000Z' })}\n`,
      'its host is not a host name',
    ],
    [
      'whose start time is forged to print a line of its own',
      `${JSON.stringify({ pid: 7, host: 'pod-0', startedAt: '2026-11-30\r\npushcast: campaign done' })}\n`,
      'its startedAt is not a time',
    ],
    ['whose pid is not one', `${JSON.stringify({ pid: -1, host: 'pod-0', startedAt: '2026-11-30T04:00:00.000Z' })}\n`, 'its pid is not a process id'],
    ['left empty long ago', '', 'it is empty'],
  ];
  for (const [what, content, why] of unreadable) {
    it(`never takes over a lock ${what}: it says why, names the file, and stops before sending`, async () => {
      const dir = tempDir();
      mkdirSync(join(dir, '.pushcast'));
      const lockPath = join(dir, '.pushcast', 'forged.jsonl.lock');
      writeFileSync(lockPath, content);
      const longAgo = new Date(Date.now() - 3600_000);
      utimesSync(lockPath, longAgo, longAgo); // not a lock being written right now
      const result = await spawnCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 20, 'forged'), '-m', message, '--campaign', 'forged'], {
        cwd: dir,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `pushcast: ${lockPath}: the lock of campaign forged cannot be read (${why}), so whether a run holds it is unknown; if no run of this campaign is going on anywhere, delete it and run again\n`,
      );
      expect(emulator.stats().requests.fcm).toBe(0);
      expect(readFileSync(lockPath, 'utf8')).toBe(content);
    });
  }

  it('says why a lock that is not a file cannot be read', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '.pushcast', 'closed.jsonl.lock'), { recursive: true });
    const result = await spawnCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 20, 'closed'), '-m', message, '--campaign', 'closed'], {
      cwd: dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('closed.jsonl.lock: the lock of campaign closed cannot be read (is a directory, expected a file)');
    expect(emulator.stats().requests.fcm).toBe(0);
  });

  it('never waits on a lock that is a pipe', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '.pushcast'));
    execFileSync('mkfifo', [join(dir, '.pushcast', 'piped.jsonl.lock')]);
    // A hang guard: reading a pipe no one writes would wait for ever.
    const result = await spawnCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 20, 'piped'), '-m', message, '--campaign', 'piped'], {
      cwd: dir,
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('piped.jsonl.lock: the lock of campaign piped cannot be read (a pipe, not a campaign lock)');
    expect(emulator.stats().requests.fcm).toBe(0);
  });

  it('is per shard, and --no-journal takes none', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('webpush', 200, 'shards');
    const runs = await Promise.all([
      spawnCli(['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'split', '--shard', '1/2', '--quiet'], { cwd: dir }),
      spawnCli(['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'split', '--shard', '2/2', '--quiet'], { cwd: dir }),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(emulator.stats().accepted.webpush).toBe(200);

    emulator.reset();
    const unjournaled = await Promise.all(
      [0, 1].map(() => spawnCli(['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'split', '--no-journal', '--quiet'], { cwd: dir })),
    );
    for (const run of unjournaled) expect(run.code, run.stderr).toBe(0);
    expect(emulator.stats().accepted.webpush).toBe(400); // as asked: no journal, no lock, no memory
  });
});
