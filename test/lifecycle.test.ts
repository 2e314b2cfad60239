import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorProcessStats, startEmulator, writeEmulatorConfig } from './helpers/emulator.js';
import { bin, spawnCli } from './helpers/spawn-cli.js';
import { audienceFile } from './helpers/audience.js';
import { tempDir, tempFile } from './helpers/tokens.js';
import { waitFor } from './helpers/wait-for.js';

const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));
const runBin = (args: string[], cwd: string) => spawnCli(args, { cwd, env: process.env });

describe('the process ends by itself after its last send', () => {
  const dir = tempDir();
  const log = join(dir, 'delivered.jsonl');
  let emulator: ChildProcess;

  beforeAll(async () => {
    emulator = spawn(process.execPath, [bin, 'emulator', '--log', log, '--unregistered', '0.1', '--seed', 'lifecycle'], { cwd: dir });
    let output = '';
    await new Promise<void>((resolve) => emulator.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()).includes('Ctrl-C') && resolve()));
  });
  afterAll(() => emulator.kill('SIGKILL'));

  for (const provider of ['fcm', 'apns', 'webpush'] as const) {
    it(`${provider}: exits 0 within a few seconds of its last send, with every client closed`, async () => {
      const result = await runBin(['send', '--config', 'pushcast.emulator.json', '-a', audienceFile(provider, 300, `life-${provider}`), '-m', message, '--quiet'], dir);
      expect(result.code, result.stderr).toBe(0);
      // The emulator appends its log asynchronously: wait until it holds every message it accepted.
      const accepted = Object.values((await emulatorProcessStats(join(dir, 'pushcast.emulator.json'))).accepted).reduce((sum, n) => sum + n, 0);
      const lines = await waitFor(() => {
        const written = readFileSync(log, 'utf8').split('\n').filter(Boolean);
        return written.length >= accepted && written;
      }, `${accepted} lines in the emulator's log`);
      const lastSend = Math.max(
        ...lines
          .map((line) => JSON.parse(line) as { provider: string; at: string })
          .filter((entry) => entry.provider === provider)
          .map((entry) => Date.parse(entry.at)),
      );
      expect(result.exitedAt - lastSend).toBeLessThan(3000);
      // It ended because nothing was left open, not because the last-resort timer fired.
      expect(result.stderr).not.toContain('open handles');
    });
  }

  it('exits 2 promptly on a fatal credential error', async () => {
    const config = JSON.parse(readFileSync(join(dir, 'pushcast.emulator.json'), 'utf8'));
    config.webpush.vapidPrivateKey = 'AAAA';
    writeFileSync(join(dir, 'broken.json'), JSON.stringify(config));
    const started = Date.now();
    const result = await runBin(['send', '--config', 'broken.json', '-a', audienceFile('webpush', 10, 'life-bad'), '-m', message], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('webpush.vapidPrivateKey');
    expect(result.exitedAt - started).toBeLessThan(5000);
  });

  for (const provider of ['fcm', 'apns', 'webpush'] as const) {
    it(`${provider}: ends on its own after connections dropped mid-campaign (GOAWAY, resets)`, async () => {
      // The clients close a session gracefully after GOAWAY, which waits on a server that may never hang up.
      const dropping = await startEmulator({ dropConnection: 0.3, seed: `drop-${provider}` });
      try {
        const dir = tempDir();
        const result = await spawnCli(
          ['send', '--config', writeEmulatorConfig(dropping, {}, dir), '-a', audienceFile(provider, 300, `drop-${provider}`), '-m', message, '--quiet'],
          { cwd: dir },
        );
        expect(result.code, result.stderr).toBe(0);
        expect(dropping.stats().drops).toBeGreaterThan(0);
        expect(result.stderr).not.toContain('open handles');
        const lastAnswer = Math.max(...dropping.attemptLog().map((attempt) => attempt.at));
        expect(result.exitedAt - lastAnswer).toBeLessThan(2500);
      } finally {
        await dropping.close();
      }
    });
  }
});
