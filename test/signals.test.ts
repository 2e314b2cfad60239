import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { openTerminal } from './helpers/terminal.js';
import { audienceFile } from './helpers/audience.js';
import { runCli } from './helpers/run-cli.js';
import { waitFor } from './helpers/wait-for.js';
import { tempDir, tempFile } from './helpers/tokens.js';
import type { CampaignRecord } from '../src/report/campaign-record.js';

/**
 * SIGINT and SIGTERM stop a send at any moment with exit 130, nothing new sent, what is in flight
 * let finish: typed as Ctrl-C on a real terminal at the early moments (the credential check, the
 * audience opening, a --wait sleep, the first instants), and sent as SIGTERM at many moments of a run.
 */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));
const total = (stats: Emulator['stats'] extends () => infer S ? S : never) => stats.accepted.fcm + stats.accepted.apns + stats.accepted.webpush;

describe('Ctrl-C on a terminal before anything is sent', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ latencyMs: 100 });
  });
  afterAll(() => emulator.close());

  it.each([0, 1])('while the credentials are checked (an OAuth endpoint that never answers): exit 130, nothing sent (--workers %i)', async (workers) => {
    const stalled = await startEmulator({ stall: ['oauth'] });
    try {
      const dir = tempDir();
      const args = ['send', '--config', writeEmulatorConfig(stalled, {}, dir), '-a', audienceFile('fcm', 50, 'oauth'), '-m', message, '--workers', String(workers)];
      const terminal = openTerminal(80, args, dir);
      // The token request has arrived and will never be answered: the run sits in its credential check.
      await waitFor(() => stalled.stats().stalled >= 1, 'the OAuth token request', 30_000);
      terminal.type('CTRL-C');
      expect(await terminal.exited, terminal.output()).toBe(130);
      expect(terminal.output()).toContain('interrupted while checking the credentials; nothing was sent');
      // Nothing was left to hold the process open: the token request ended with the run.
      expect(terminal.output()).not.toContain('open handles kept the process alive');
      expect(stalled.stats().requests.fcm).toBe(0);
    } finally {
      await stalled.close();
    }
  });

  it('while the audience is awaited on standard input: exit 130, nothing sent', async () => {
    emulator.reset();
    const dir = tempDir();
    const terminal = openTerminal(80, ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', '-', '-m', message, '--campaign', 'stdin'], dir);
    await waitFor(() => terminal.output().includes('reading the audience from the terminal'), 'the notice that the audience is read from the terminal', 30_000);
    terminal.type('CTRL-C');
    expect(await terminal.exited, terminal.output()).toBe(130);
    expect(terminal.output()).toContain('interrupted while opening the audience (standard input); nothing was sent');
    expect(total(emulator.stats())).toBe(0);
  });

  it('while --wait sleeps until the next recipient is due: exit 130, nothing sent', async () => {
    emulator.reset();
    const dir = tempDir();
    const at = new Date(Date.now() + 3600_000).toISOString().slice(0, 16);
    const args = ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('apns', 20, 'wait'), '-m', message, '--at', at, '--timezone', 'UTC', '--wait'];
    const terminal = openTerminal(80, args, dir);
    await waitFor(() => terminal.output().includes('waiting for the next recipient'), 'the run to wait for the next recipient', 30_000);
    terminal.type('CTRL-C');
    expect(await terminal.exited, terminal.output()).toBe(130);
    expect(terminal.output()).toMatch(/interrupted while waiting for the next recipient \(due at [^)]+\); run the same command again to resume/);
    expect(total(emulator.stats())).toBe(0);
  });

  // Wherever the key lands (Node starting, the CLI loading, the configuration, the journal, the
  // first batches), the run stops: 130, or killed by the signal if Node had not yet run a line of
  // pushcast, and then nothing can have been sent. Never a campaign that goes on to the end.
  it.each([0, 100, 250, 500, 800, 1200])('typed %i ms after the command starts: exit 130, far from everyone sent', async (delayMs) => {
    emulator.reset();
    const dir = tempDir();
    const args = ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('apns', 3000, `early${delayMs}`), '-m', message, '--concurrency', '100'];
    const terminal = openTerminal(80, args, dir);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    terminal.type('CTRL-C');
    const code = await terminal.exited;
    const accepted = emulator.stats().accepted.apns;
    if (code === -2) expect(accepted, 'killed by SIGINT before pushcast ran, yet something was sent').toBe(0);
    else expect(code, terminal.output()).toBe(130);
    expect(accepted).toBeLessThan(3000);
    expect(terminal.output()).not.toMatch(/campaign \S+ done/);
  });
});

describe('SIGTERM at many moments of a run', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'sigterm', latencyMs: 100, unregistered: 0.05 });
  });
  afterAll(() => emulator.close());

  /** The run as a process of its own, told SIGTERM once `when` says so; its JSON record and exit code. */
  async function sendUntil(args: string[], cwd: string, when: () => boolean, signals: number): Promise<{ code: number | null; record: CampaignRecord; stderr: string }> {
    const run = spawnCli(args, { cwd });
    const { child } = run;
    await waitFor(() => when() || child.exitCode !== null, 'the moment to send SIGTERM', 30_000);
    child.kill('SIGTERM');
    // npm, or a supervisor that signals the process group and the process, delivers one SIGTERM
    // twice, a moment apart (sent at once, the kernel would merge the two into one).
    if (signals === 2) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      child.kill('SIGTERM');
    }
    const { code, stdout, stderr } = await run;
    return { code, record: JSON.parse(stdout) as CampaignRecord, stderr };
  }

  it('drains what is in flight, leaves nothing uncertain, accounts for every row, and the re-run sends the rest once', async () => {
    emulator.reset();
    const dir = tempDir();
    const size = 2000;
    const audience = audienceFile('apns', size, 'term');
    const args = ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audience, '-m', message, '--campaign', 'term', '--json', '--concurrency', '100'];
    // Each stop lands after a few more answers than the last, at 0 the moment the first request arrives.
    for (const [index, more] of [0, 1, 40, 150, 333].entries()) {
      const before = emulator.stats().requests.apns;
      const { code, record, stderr } = await sendUntil(args, dir, () => emulator.stats().requests.apns > before + more, index % 2 === 0 ? 1 : 2);
      if (record.status === 'done') break; // the campaign ended before the signal: nothing left to stop
      expect(code, stderr).toBe(130);
      expect(record.status).toBe('interrupted');
      expect(record.counts.uncertain, `stopped ${more} requests in: ${stderr}`).toBe(0);
      // Every row is accounted for: those sent (now or by an earlier run), and those not reached.
      expect(record.counts.targeted + record.counts.skipped).toBe(size);
      expect(record.unreached?.toLine).toBe(size + 1);
    }
    const last = await runCli(['send', ...args.slice(1)], { cwd: dir });
    expect(last.code, last.stderr).toBe(0);
    const record = JSON.parse(last.stdout) as CampaignRecord;
    expect(record.counts).toMatchObject({ targeted: size, uncertain: 0 });
    expect(record.counts.accepted + record.counts.invalid).toBe(size);
    expect(emulator.stats().duplicates).toBe(0);
    expect(emulator.stats().accepted.apns).toBe(record.counts.accepted);
  });
});
