import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { audienceFile } from './helpers/audience.js';
import { runCli } from './helpers/run-cli.js';
import { root } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/tokens.js';

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('the version', () => {
  it('is what pushcast -v, -V and --version print, and nothing else', async () => {
    for (const flag of ['-v', '-V', '--version']) expect(await runCli([flag]), flag).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it("counts only before the command: send -v and check -v are refused (--verbose has no short form), pointing at --verbose; devices' own --registry still counts after its subcommand", async () => {
    for (const command of ['send', 'check']) {
      const result = await runCli([command, '-a', 'audience.csv', '-v']);
      expect(result.code, command).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^error: unknown option '-v'\n\(Did you mean --verbose\?\)\n/);
    }
    const dir = tempDir();
    const imported = await runCli(['devices', 'import', audienceFile('fcm', 3, 'registry-after'), '--registry', 'devices.db', '--json'], { cwd: dir });
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).imported).toBe(3);
    expect(existsSync(join(dir, 'devices.db'))).toBe(true);
  });
});
