import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { bin } from './helpers/spawn-cli.js';
import { openTerminal, terminalEnv } from './helpers/terminal.js';
import { audienceFile } from './helpers/audience.js';
import { waitFor } from './helpers/wait-for.js';
import { fcmToken, tempDir, tempFile } from './helpers/tokens.js';

/** pushcast on a person's terminal: the spinner, and Ctrl-C typed while it spins. */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ latencyMs: 100 });
});
afterAll(() => emulator.close());

describe('on a terminal', () => {
  it('Ctrl-C under the spinner stops the campaign at once, says so, and a re-run finishes it', async () => {
    emulator.reset();
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    // 100 in flight at 100 ms an answer: about 1,000 a second, so Ctrl-C comes while most of the
    // campaign is still to go, however slowly the keys reach the terminal.
    const args = ['send', '--config', config, '-a', audienceFile('apns', 5000, 'ctrlc'), '-m', message, '--campaign', 'ctrl-c', '--concurrency', '100'];
    const terminal = openTerminal(80, args, dir);
    await waitFor(() => terminal.output().includes(' accepted, ') && emulator.stats().accepted.apns >= 500, 'the spinner to count sends');
    terminal.type('CTRL-C');
    await waitFor(() => terminal.output().includes('stopping: letting'), 'the stopping notice', 30_000).catch((error: Error) => {
      throw new Error(`${error.message}; the terminal showed: ${JSON.stringify(terminal.output().slice(-300))}`);
    });
    expect(await terminal.exited).toBe(130);
    expect(terminal.output()).toMatch(/stopping: letting \d+ in flight finish/);
    expect(terminal.output()).toMatch(/interrupted; lines \d+ to 5001 \(\d+ recipients\) were not reached before the run stopped; run the same command again to resume/);
    const acceptedAtStop = emulator.stats().accepted.apns;
    expect(acceptedAtStop).toBeLessThan(5000);

    const rest = openTerminal(80, [...args, '--quiet'], dir);
    expect(await rest.exited).toBe(0);
    expect(rest.output()).toMatch(/campaign ctrl-c done: 5000 targeted, 5000 accepted/);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('the spinner counts requests as they go out, not as they are answered', async () => {
    const silent = await startEmulator({ stall: ['fcm'] });
    try {
      const dir = tempDir();
      const terminal = openTerminal(
        100,
        ['send', '--config', writeEmulatorConfig(silent, {}, dir), '-a', audienceFile('fcm', 300, 'silent'), '-m', message, '--concurrency', '200', '--no-journal'],
        dir,
      );
      // 200 are out and none answered: the spinner says so.
      await waitFor(() => silent.stats().stalled >= 200 && /\b200 sent\b/.test(terminal.output()), 'the spinner to count 200 sent', 30_000).catch((error: Error) => {
        throw new Error(`${error.message}; the terminal showed: ${JSON.stringify(terminal.output().slice(-300))}`);
      });
      expect(terminal.output()).toMatch(/200 sent: 0 accepted/);
      terminal.type('CTRL-C');
      await waitFor(() => terminal.output().includes('stopping'), 'the stopping notice', 30_000);
      // What is in flight would wait for the stall timeout: a second Ctrl-C, past the second in
      // which a repeat is taken for the same keypress delivered twice, ends it.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      terminal.type('CTRL-C');
      expect(await terminal.exited).toBe(130);
    } finally {
      await silent.close();
    }
  });

  it('a terminal that reports no width gets no spinner, and the run ends', async () => {
    emulator.reset();
    const dir = tempDir();
    const terminal = openTerminal(0, ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 50, 'narrow'), '-m', message, '--no-journal'], dir);
    expect(await terminal.exited).toBe(0);
    expect(terminal.output()).toContain('accepted 50 (100.0% of targeted)');
  });
});

describe('a cell that holds a line break', () => {
  // A quoted CSV cell may hold one; shown raw, it would print a line of its own, such as a forged verdict.
  const plain = tempFile('plain.json', JSON.stringify({ title: 'Hi' }));
  const audience = tempFile('forged.csv', `provider,token\n"fcm\npushcast: campaign done",${fcmToken('forged')}\nfcm,${fcmToken('real')}\n`);

  it("stays on its row's line in the dry-run plan and in the report", async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const plan = await runCli(['send', '--config', config, '-a', audience, '-m', plain, '--dry-run'], { cwd: dir });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/\n {2}2 {5}unknown-provider {2}unknown provider "fcm\\npushcast: campaign done" \(expected fcm, apns or webpush\)\n/);
    const sent = await runCli(['send', '--config', config, '-a', audience, '-m', plain], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('\nline 2: skipped unknown-provider: unknown provider "fcm\\npushcast: campaign done" (expected fcm, apns or webpush)\n');
    for (const output of [plan.stdout, sent.stdout]) expect(output).not.toMatch(/^pushcast: campaign done/m);
  });
});

describe('a file name that holds a line break', () => {
  it('stays on its line when a later run names it from the journal', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = tempFile('spring.csv', `provider,token\nfcm,${fcmToken('journal-name')}\n`);
    const first = tempFile('spring\npushcast: campaign done.json', JSON.stringify({ title: 'Spring' }));
    expect((await runCli(['send', '--config', config, '-a', audience, '-m', first, '--campaign', 'named', '--quiet'], { cwd: dir })).code).toBe(0);
    const edited = await runCli(['send', '--config', config, '-a', audience, '-m', tempFile('spring2.json', JSON.stringify({ title: 'Spring!' })), '--campaign', 'named'], {
      cwd: dir,
    });
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain('spring\\npushcast: campaign done.json (sha256 ');
    expect(edited.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('in a pipe whose reader has gone', () => {
  /** Runs the built CLI with the read end of its stdout closed before it writes anything: each write meets EPIPE. */
  function runWithReaderGone(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: terminalEnv });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  }

  it('--help ends quietly with 0, as `pushcast send --help | head` expects', async () => {
    expect(await runWithReaderGone(['send', '--help'], tempDir())).toEqual({ code: 0, stderr: '' });
  });

  it('a campaign goes on to the end: the reader going away does not abandon it', async () => {
    emulator.reset();
    const dir = tempDir();
    const result = await runWithReaderGone(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 50, 'pipe'), '-m', message, '--json'], dir);
    expect(result).toEqual({ code: 0, stderr: '' });
    expect(emulator.stats().accepted.fcm).toBe(50);
  });
});
