import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { apnsToken, fcmToken, tempFile } from './helpers/tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureArgs = ['send', '--audience', 'fixtures/audience.csv', '--message', 'fixtures/message.json', '--dry-run'];

describe('pushcast send --dry-run', () => {
  it('prints exactly one JSON object with counts per provider, skips by reason and bad rows by line', async () => {
    const { code, stdout, stderr } = await runCli([...fixtureArgs, '--json'], { cwd: root });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const plan = JSON.parse(stdout);
    expect(plan.recipients).toEqual({ fcm: 6, apns: 4, webpush: 3 });
    // fixtures/message.json sets a thread, which only iOS has: the plan says so.
    expect(plan.notes).toEqual([expect.stringContaining('thread groups notifications on iOS only')]);
    expect(plan.skipped).toEqual({
      'unknown-provider': 1,
      'wrong-column-count': 1,
      'empty-token': 1,
      'malformed-token': 1,
      duplicate: 1,
      'missing-variable': 1,
    });
    expect(plan.errors.map((error: { line: number; reason: string }) => [error.line, error.reason])).toEqual([
      [16, 'unknown-provider'],
      [17, 'wrong-column-count'],
      [18, 'empty-token'],
      [19, 'malformed-token'],
      [20, 'duplicate'],
      [21, 'missing-variable'],
    ]);
    expect(Object.keys(plan.samples)).toEqual(['fcm', 'apns', 'webpush']);
    // Samples never carry a whole token.
    expect(stdout).not.toContain(fcmToken(1));
  });

  it('shows a person the plan with localized samples and the bad rows', async () => {
    const { code, stdout } = await runCli(fixtureArgs, { cwd: root });
    expect(code).toBe(0);
    expect(stdout).toContain('nothing was sent');
    expect(stdout).toContain('would send 13 devices (fcm 6, apns 4, webpush 3)');
    expect(stdout).toMatch(/16 {2}unknown-provider/);
  });

  it('with --strict, stops at the first bad row with exit code 1 and its line', async () => {
    const { code, stderr } = await runCli([...fixtureArgs, '--strict', '--quiet'], { cwd: root });
    expect(code).toBe(1);
    expect(stderr).toContain('fixtures/audience.csv, line 16: unknown-provider');
  });

  it('reads the audience from standard input with "-"', async () => {
    const csv = `token\n${fcmToken(1)}\n${fcmToken(2)}\n`;
    const { code, stdout } = await runCli(['send', '-a', '-', '-p', 'fcm', '-m', tempFile('plain.json', '{"title":"Hi"}'), '-n', '--json'], { cwd: root, stdin: csv });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ recipients: { fcm: 2 } });
    // fixtures/message.json needs {{coupon}} (its {{name}} has a default), which this audience lacks: said once, before any row.
    const lacking = await runCli(['send', '-a', '-', '-p', 'fcm', '-m', 'fixtures/message.json', '-n', '--json'], { cwd: root, stdin: csv });
    expect(lacking.code).toBe(1);
    expect(lacking.stderr).toMatch(/^pushcast: message fixtures\/message\.json: \{\{coupon\}\} names no column of the audience; the columns of - are \(none\)\n$/);
  });

  it('plans a user-ID audience, leaving device lookup to the registry', async () => {
    const { code, stdout } = await runCli(['send', '-a', 'fixtures/users.csv', '-m', 'fixtures/message.json', '-n', '--json'], { cwd: root });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ shape: 'users', users: 4, recipients: { fcm: 0, apns: 0, webpush: 0 } });
  });
});

describe('usage errors: exit code 1, a clear message, never a stack trace', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['send', '--audiense', 'x.csv'], /unknown option '--audiense'[\s\S]*Did you mean --audience/],
    ['a missing audience file', ['send', '-a', 'missing.csv', '-m', 'fixtures/message.json', '-n'], /audience missing.csv: no such file/],
    ['a missing message file', ['send', '-a', 'fixtures/audience.csv', '-m', 'nope.json', '-n'], /message nope.json: no such file/],
    ['no audience', ['send', '-m', 'fixtures/message.json'], /send needs --audience FILE/],
    ['an unknown provider', ['send', '-a', 'fixtures/audience.csv', '-m', 'fixtures/message.json', '-p', 'gcm'], /Allowed choices are fcm, apns, webpush/],
    ['an unknown command', ['sned'], /unknown command 'sned'/],
  ];
  for (const [what, args, message] of cases) {
    it(`for ${what}`, async () => {
      const { code, stderr } = await runCli(args, { cwd: root });
      expect(code).toBe(1);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('for a template that is not JSON, naming the file', async () => {
    const message = tempFile('m.json', '{"title": "x",}');
    const audience = tempFile('a.csv', `provider,token\napns,${apnsToken(1)}\n`);
    const { code, stderr } = await runCli(['send', '-a', audience, '-m', message, '-n']);
    expect(code).toBe(1);
    expect(stderr).toContain(`message ${message}: not valid JSON`);
  });
});

describe('the installed command', () => {
  it('teaches by example in --help and exits 0', () => {
    const help = execFileSync(process.execPath, ['bin/pushcast.js', 'send', '--help'], { cwd: root, encoding: 'utf8' });
    expect(help).toContain('Examples:');
    expect(help).toContain('--dry-run');
    expect(help).toContain('Exit codes:');
  });

  it('exits 1 on an unknown flag without a stack trace', () => {
    const result = spawnSync(process.execPath, ['bin/pushcast.js', 'send', '--bogus'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("unknown option '--bogus'");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
