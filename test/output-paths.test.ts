import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { audienceFile } from './helpers/audience.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/** A report that cannot be written after the campaign is lost: every output path is checked before the first send. */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

describe('output paths', () => {
  const cases: Array<[string, (dir: string) => string[], RegExp]> = [
    [
      '--report names a folder',
      (dir) => (mkdirSync(join(dir, 'reports')), ['--report', 'reports']),
      /^pushcast: --report reports: is a folder, expected a file; nothing was sent\n$/,
    ],
    [
      '--invalid-out is in a folder that does not exist',
      () => ['--invalid-out', 'out/prune.csv'],
      /^pushcast: --invalid-out out\/prune\.csv: the folder .*\/out does not exist; nothing was sent\n$/,
    ],
    [
      '--failed-out is under a file',
      (dir) => (writeFileSync(join(dir, 'notes.txt'), ''), ['--failed-out', 'notes.txt/retry.csv']),
      /^pushcast: --failed-out notes\.txt\/retry\.csv: .*\/notes\.txt is a file, not a folder; nothing was sent\n$/,
    ],
    [
      '--journal-dir is a file',
      (dir) => (writeFileSync(join(dir, 'journals'), ''), ['--journal-dir', 'journals']),
      /^pushcast: journal folder journals: is a file, expected a folder; nothing was sent\n$/,
    ],
  ];
  for (const [name, flags, expected] of cases) {
    it(`${name}: exit 1 before anything is sent`, async () => {
      const dir = tempDir();
      emulator.reset();
      const result = await spawnCli(['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 10, 'paths'), '-m', message, ...flags(dir)], {
        cwd: dir,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(expected);
      expect(emulator.stats().requests.fcm).toBe(0);
      expect(emulator.stats().oauthTokensIssued).toBe(0); // stopped before even the credentials were checked
    });
  }
});
