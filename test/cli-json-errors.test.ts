import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, PushcastError } from '../src/errors.js';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli, type CliResult } from './helpers/run-cli.js';
import { root, spawnCli } from './helpers/spawn-cli.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/**
 * `pushcast … --json | jq` must always get one JSON object to parse: a command that fails before
 * it has a record prints {"status", "error": {"reason", "message"}} on stdout, and its line on stderr.
 */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi', body: 'News' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

/** Stdout as exactly one JSON object on one line, which says what stderr says. */
function failure(result: Pick<CliResult, 'stdout' | 'stderr'>): { status: string; error: { code: string; reason: string; message: string } } {
  expect(result.stdout.endsWith('\n') && result.stdout.indexOf('\n') === result.stdout.length - 1, `one line on stdout: ${result.stdout}`).toBe(true);
  return JSON.parse(result.stdout);
}

/** A project folder whose campaign `daily` has this lock file in its journal folder. */
function lockedProject(lock: string, journalDir = '.pushcast'): { dir: string; args: string[] } {
  const dir = tempDir();
  mkdirSync(join(dir, journalDir));
  writeFileSync(join(dir, journalDir, 'daily.jsonl.lock'), lock);
  const config = writeEmulatorConfig(emulator, {}, dir);
  const args = ['send', '--config', config, '-a', audienceFile('fcm', 5, 'locked'), '-m', message, '--campaign', 'daily', '--journal-dir', journalDir, '--json'];
  return { dir, args };
}

describe('--json when the command fails before it has a record', () => {
  it("commander's own usage error: an unknown option", async () => {
    const result = await runCli(['send', '--audiense', 'x.csv', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: unknown option '--audiense'\n(Did you mean --audience?)");
    expect(failure(result)).toEqual({ status: 'error', error: { code: 'PUSHCAST_USAGE', reason: 'usage', message: "unknown option '--audiense'\n(Did you mean --audience?)" } });
  });

  it('a usage error of pushcast: no audience', async () => {
    const result = await runCli(['send', '-m', message, '--json']);
    expect(result.code).toBe(1);
    const { error } = failure(result);
    expect({ code: error.code, reason: error.reason }).toEqual({ code: 'PUSHCAST_USAGE', reason: 'usage' });
    expect(error.message).toMatch(/^send needs --audience FILE/);
    expect(result.stderr).toBe(`pushcast: ${error.message}\n`);
  });

  it('an input file that cannot be read', async () => {
    const result = await runCli(['send', '-a', 'missing.csv', '-m', message, '--json']);
    expect(result.code).toBe(1);
    const { status, error } = failure(result);
    expect({ status, code: error.code, reason: error.reason }).toEqual({ status: 'error', code: 'PUSHCAST_INPUT', reason: 'input' });
    expect(error.message).toContain('missing.csv: no such file');
    expect(result.stderr).toBe(`pushcast: ${error.message}\n`);
    // Without --json, stdout stays empty, as it was.
    const plain = await runCli(['send', '-a', 'missing.csv', '-m', message]);
    expect(plain).toEqual({ code: 1, stdout: '', stderr: result.stderr });
  });

  it('a configuration error: no provider has credentials', async () => {
    const result = await runCli(['send', '-a', audienceFile('fcm', 5, 'nocred'), '-m', message, '--json'], { env: {} });
    expect(result.code).toBe(2);
    const { status, error } = failure(result);
    expect({ status, code: error.code, reason: error.reason }).toEqual({ status: 'error', code: 'PUSHCAST_CONFIG', reason: 'config' });
    expect(error.message).toMatch(/^no provider has credentials/);
    expect(result.stderr).toBe(`pushcast: ${error.message}\n`);
  });

  it('a campaign another live process holds', async () => {
    const { dir, args } = lockedProject(JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: '2026-11-30T04:00:00.000Z' }));
    const result = await runCli(args, { cwd: dir });
    expect(result.code).toBe(1);
    const { status, error } = failure(result);
    expect({ status, code: error.code, reason: error.reason }).toEqual({ status: 'error', code: 'PUSHCAST_CAMPAIGN_BUSY', reason: 'campaign-busy' });
    expect(error.message).toMatch(new RegExp(`^campaign daily is already running \\(pid ${process.ppid} on `));
    expect(result.stderr).toBe(`pushcast: ${error.message}\n`);
    expect(emulator.stats().requests.fcm).toBe(0);
  });

  it('a lock that cannot be read, in a folder whose name holds an escape character, shown escaped as on stderr', async () => {
    const { dir, args } = lockedProject('not a lock\n', 'journals\u001b[2J');
    const result = await runCli(args, { cwd: dir });
    expect(result.code).toBe(1);
    const { error } = failure(result);
    expect({ code: error.code, reason: error.reason }).toEqual({ code: 'PUSHCAST_LOCK_UNREADABLE', reason: 'lock-unreadable' });
    expect(error.message).toContain('journals\\x1b[2J/daily.jsonl.lock: the lock of campaign daily cannot be read');
    expect(result.stderr).toBe(`pushcast: ${error.message}\n`);
  });

  it('an interruption before anything was sent', async () => {
    const result = await runCli(['send', '-a', audienceFile('fcm', 5, 'stopped'), '-m', message, '--json'], { signal: AbortSignal.abort() });
    expect(result.code).toBe(130);
    expect(failure(result)).toEqual({
      status: 'interrupted',
      error: { code: 'PUSHCAST_INTERRUPTED', reason: 'interrupted', message: 'interrupted while reading the configuration; nothing was sent' },
    });
    expect(result.stderr).toBe('pushcast: interrupted while reading the configuration; nothing was sent\n');
  });

  it('a journal that cannot be written (a full disk), from the built command', async () => {
    const dir = tempDir();
    const args = ['send', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', audienceFile('fcm', 5, 'full'), '-m', message, '--campaign', 'full', '--json'];
    const result = await spawnCli(args, { cwd: dir, fileSizeBlocks: 0 });
    expect(result.code).toBe(2);
    const { status, error } = failure(result);
    expect({ status, code: error.code, reason: error.reason }).toEqual({ status: 'error', code: 'PUSHCAST_JOURNAL_WRITE', reason: 'journal' });
    expect(error.message).toMatch(/full\.jsonl\.lock: EFBIG: file too large, write: the campaign journal cannot be written/);
    expect(result.stderr).toBe(`pushcast: ${error.message}\n`);
  });

  it('a provider host that does not resolve: a code of its own, the reason config as before', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { fcm: { endpoint: 'https://pushcast-test.invalid' } }, dir);
    const result = await runCli(['send', '--config', config, '-a', audienceFile('fcm', 5, 'nowhere'), '-m', message, '--no-journal', '--json'], { cwd: dir });
    expect(result.code).toBe(2);
    const { status, error } = failure(result);
    expect({ status, code: error.code, reason: error.reason }).toEqual({ status: 'error', code: 'PUSHCAST_HOST_UNRESOLVED', reason: 'config' });
    expect(error.message).toBe('cannot resolve pushcast-test.invalid: no network or DNS, or fcm.endpoint names a wrong host');
    expect(emulator.stats().requests.fcm).toBe(0);
  });
});

describe('the catalogue of error codes (src/errors.ts)', () => {
  /** Every class in src/ that extends an error class, by file: `class X extends YError`. */
  const errorClasses = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .flatMap((path) => [...readFileSync(join(root, 'src', path), 'utf8').matchAll(/class (\w+) extends (\w*Error)\b/g)].map(([, name, base]) => ({ path, name, base })));

  it('gives every error class that ends a command a code of its own, with its exit code and meaning', async () => {
    const codes = new Map<string, string>();
    for (const { path, name, base } of errorClasses) {
      const module = (await import(pathToFileURL(join(root, 'src', path)).href)) as Record<string, unknown>;
      const made = module[name];
      expect(typeof made, `${relative(root, join(root, 'src', path))}: ${name} is exported`).toBe('function');
      if (made === PushcastError) continue;
      if (!((made as { prototype: unknown }).prototype instanceof PushcastError)) {
        // A file's own error, always told through describeFileError inside one of pushcast's: it never ends a command.
        expect({ name, base }).toEqual({ name: 'FileTooBigError', base: 'Error' });
        continue;
      }
      const error = new (made as new (...args: unknown[]) => PushcastError)('x', {}, 'x');
      expect(Object.keys(errorCodes), `${name}'s code`).toContain(error.code);
      expect(codes.get(error.code), `${name} and ${codes.get(error.code)} share ${error.code}`).toBeUndefined();
      codes.set(error.code, name);
      expect(error.exitCode).toBe(errorCodes[error.code].exitCode);
    }
    expect(codes.size).toBeGreaterThanOrEqual(11);
    // Every code but the one of a bug (no class: any other error) belongs to a class.
    expect(Object.keys(errorCodes).filter((code) => !codes.has(code))).toEqual(['PUSHCAST_INTERNAL']);
  });

  it('has unique, stable-looking codes, each with a meaning', () => {
    const entries = Object.entries(errorCodes);
    for (const [code, entry] of entries) {
      expect(code).toMatch(/^PUSHCAST_[A-Z]+(_[A-Z]+)*$/);
      expect(entry.meaning.length, code).toBeGreaterThan(20);
    }
    expect(new Set(entries.map(([code]) => code)).size).toBe(entries.length);
    expect(new Set(entries.map(([, entry]) => entry.meaning)).size).toBe(entries.length);
  });
});
