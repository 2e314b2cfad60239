import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorProcessStats, startEmulator, startEmulatorProcess, writeEmulatorConfig } from './helpers/emulator.js';
import { spawnCli } from './helpers/spawn-cli.js';
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
    ({ child: emulator } = await startEmulatorProcess(dir, ['--log', log, '--unregistered', '0.1', '--seed', 'lifecycle']));
  });
  afterAll(() => emulator.kill('SIGKILL'));

  // How soon it ends is not timed (a busy machine can take any time): that it ended without the
  // last-resort timer (main.ts: "open handles kept the process alive") proves nothing was left open.
  for (const provider of ['fcm', 'apns', 'webpush'] as const) {
    it(`${provider}: exits 0 by itself after its last send, with every client closed`, async () => {
      const result = await runBin(['send', '--config', 'pushcast.emulator.json', '-a', audienceFile(provider, 300, `life-${provider}`), '-m', message, '--quiet'], dir);
      expect(result.code, result.stderr).toBe(0);
      // The emulator appends its log asynchronously: wait until it holds every message it accepted.
      const stats = await emulatorProcessStats(join(dir, 'pushcast.emulator.json'));
      const accepted = Object.values(stats.accepted).reduce((sum, n) => sum + n, 0);
      const lines = await waitFor(() => {
        const written = readFileSync(log, 'utf8').split('\n').filter(Boolean);
        return written.length >= accepted && written;
      }, `${accepted} lines in the emulator's log`);
      const sent = lines.map((line) => JSON.parse(line) as { provider: string; at: string }).filter((entry) => entry.provider === provider);
      expect(sent.length).toBe(stats.accepted[provider]);
      expect(sent.length).toBeGreaterThan(200);
      // It ended because nothing was left open, not because the last-resort timer fired.
      expect(result.stderr).not.toContain('open handles');
    });
  }

  it('exits 2 by itself on a fatal credential error', async () => {
    const config = JSON.parse(readFileSync(join(dir, 'pushcast.emulator.json'), 'utf8'));
    config.webpush.vapidPrivateKey = 'AAAA';
    writeFileSync(join(dir, 'broken.json'), JSON.stringify(config));
    const result = await runBin(['send', '--config', 'broken.json', '-a', audienceFile('webpush', 10, 'life-bad'), '-m', message], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('webpush.vapidPrivateKey');
    expect(result.stderr).not.toContain('open handles');
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
      } finally {
        await dropping.close();
      }
    });
  }
});
