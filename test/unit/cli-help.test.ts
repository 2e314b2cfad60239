import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { audienceFile } from '../helpers/audience.js';
import { runCli } from '../helpers/run-cli.js';
import { root } from '../helpers/spawn-cli.js';
import { tempDir } from '../helpers/tokens.js';

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

/** The help of `pushcast ARGS`, and of each command under it, as [command line, text]. */
async function everyHelp(args: string[] = []): Promise<Array<[string, string]>> {
  const { code, stdout } = await runCli([...args, '--help']);
  expect(code, args.join(' ')).toBe(0);
  const commands = stdout.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
  const names = [...commands.matchAll(/^ {2}([a-z][\w-]*)/gm)].map(([, name]) => name).filter((name) => name !== 'help');
  const nested = await Promise.all(names.map((name) => everyHelp([...args, name])));
  return [[`pushcast ${args.join(' ')}`.trim(), stdout], ...nested.flat()];
}

/** Each option of a help text, its wrapped lines joined. */
function optionEntries(help: string): string[] {
  const section = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  return section
    .split(/\n(?= {2}-)/)
    .map((entry) => entry.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

describe('--help', () => {
  it('at the top level shows examples of the everyday commands, every line within 80 columns', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    const examples = stdout.slice(stdout.indexOf('\nExamples:\n'));
    for (const example of [
      /\$ pushcast send .*--dry-run/,
      /\$ pushcast send --audience \S+ --message \S+\n/,
      /\$ pushcast send .*--token /,
      /\$ pushcast report\n/,
      /\$ pushcast devices import /,
      /\$ pushcast emulator\n/,
    ])
      expect(examples).toMatch(example);
    for (const line of stdout.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
  });

  it('of every command wraps within 80 columns (but for the example command lines) and says each default once, as "(default: …)" at the end', async () => {
    const helps = await everyHelp();
    expect(helps.map(([command]) => command)).toEqual(expect.arrayContaining(['pushcast send', 'pushcast devices list', 'pushcast emulator']));
    for (const [command, help] of helps) {
      for (const line of help.split('\n').filter((text) => !/^\s+\$ /.test(text))) expect([...line].length, `${command}: ${line}`).toBeLessThanOrEqual(80);
      for (const entry of optionEntries(help)) {
        // A flag such as --default-timezone is no default.
        const defaults = entry.replace(/--[\w-]+/g, '').match(/\bdefault\b/gi) ?? [];
        expect(defaults.length, `${command}: ${entry}`).toBeLessThanOrEqual(1);
        if (defaults.length === 1) expect(entry, command).toMatch(/\(default: [^"]+\)$/);
      }
    }
  });
});
