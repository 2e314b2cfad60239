import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { apnsToken, emulatorSubscription, fcmToken, tempDir, tempFile } from './helpers/tokens.js';
import { subscriptionCell } from './helpers/audience.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let emulator: Emulator;
/** The emulator's credentials: a dry run sends nothing, but it plans only for providers that have some, as the send does. */
let config: string;
let fixtureArgs: string[];
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'dry-run' });
  config = writeEmulatorConfig(emulator);
  fixtureArgs = ['send', '--config', config, '--audience', 'fixtures/audience.csv', '--message', 'fixtures/message.json', '--dry-run'];
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

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
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });
  });

  it('shows a person the plan with localized samples and the bad rows', async () => {
    const { code, stdout } = await runCli(fixtureArgs, { cwd: root });
    expect(code).toBe(0);
    expect(stdout).toContain('nothing was sent');
    expect(stdout).toContain('would send 13 devices (fcm 6, apns 4, webpush 3)');
    // The bad rows as a table: every reason starts in the same column, whatever the provider.
    const table = stdout.slice(stdout.indexOf('  line  ')).split('\n\n')[0].split('\n');
    expect(table[1]).toMatch(/^ {2}16 {4}unknown-provider {4}unknown provider "huawei"/);
    const reasonAt = table[0].indexOf('reason');
    for (const row of table.slice(1)) expect(row.slice(reasonAt - 2, reasonAt), row).toBe('  ');
    expect(table.slice(1).map((row) => row[reasonAt])).not.toContain(' ');
  });

  it('groups identical problems into one row with their lines', async () => {
    const rows = ['provider,token,name', ...Array.from({ length: 21 }, (_, i) => `fcm,${fcmToken(`g${i}`)},`), `fcm,${fcmToken('named')},Ana`, `apns,abc,Bo`];
    const needsName = tempFile('needs-name.json', JSON.stringify({ title: 'Hi {{name}}' }));
    const { stdout } = await runCli(['send', '-c', config, '-a', tempFile('grouped.csv', rows.join('\n')), '-m', needsName, '-n'], { cwd: root });
    expect(stdout).toMatch(/^ {2}2-22 \(21\) {2}missing-variable {2}\[fcm\] \{\{name\}\} has no value in this row/m);
    expect(stdout).toMatch(/^ {2}24 {9}malformed-token {3}\[apns\]/m);
    expect(stdout.match(/missing-variable/g)).toHaveLength(2); // the summary line and the one row
  });

  it('counts, for a user-ID audience, the users who would get it and their devices, not the rows read', async () => {
    const dir = tempDir();
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    const old = new Date(Date.now() - 200 * 86_400_000).toISOString();
    await registry.upsert([
      { userId: 'u1', provider: 'fcm', token: fcmToken('u1a') },
      { userId: 'u1', provider: 'apns', token: apnsToken('u1b') },
      { userId: 'u2', provider: 'fcm', token: fcmToken('u2a') },
      { userId: 'u3', provider: 'fcm', token: fcmToken('u3a') },
      { userId: 'u3', provider: 'fcm', token: fcmToken('u3b') },
      { userId: 'u4', provider: 'fcm', token: fcmToken('u4a') },
      { userId: 'u5', provider: 'fcm', token: fcmToken('u5a'), lastSeen: old },
      { userId: 'u6', provider: 'fcm', token: fcmToken('u6a') },
    ]);
    await registry.unregister({ userId: 'u4' });
    await registry.markInvalid([{ provider: 'fcm', token: fcmToken('u6a'), reason: 'unregistered' }]);
    await registry.close();
    const users = tempFile('seven.csv', 'user_id\nu1\nu2\nu3\nu4\nu5\nu6\nu7\n');
    const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{user_id}}' }));
    const plan = await runCli(['send', '-c', config, '-a', users, '-m', message, '-n'], { cwd: dir });
    expect(plan.stdout).toContain('would send 3 users (5 devices: fcm 4, apns 1, webpush 0)');
    expect(plan.stdout).toMatch(/skipped {4}4: /);
    const json = JSON.parse((await runCli(['send', '-c', config, '-a', users, '-m', message, '-n', '--json'], { cwd: dir })).stdout);
    expect(json).toMatchObject({ users: 7, usersReached: 3, recipients: { fcm: 4, apns: 1 }, skipped: { unregistered: 1, stale: 1, 'no-device': 1, 'unknown-user': 1 } });
    const quiet = await runCli(['send', '-c', config, '-a', users, '-m', message, '-n', '--quiet'], { cwd: dir });
    expect(quiet.stdout).toContain('dry run: would send 3 users (5 devices: fcm 4, apns 1, webpush 0); 4 skipped');
  });

  it('with --strict, stops at the first bad row with exit code 1 and its line', async () => {
    const { code, stderr } = await runCli([...fixtureArgs, '--strict', '--quiet'], { cwd: root });
    expect(code).toBe(1);
    expect(stderr).toContain('fixtures/audience.csv, line 16: unknown-provider');
  });

  it('reads the audience from standard input with "-"', async () => {
    const csv = `token\n${fcmToken(1)}\n${fcmToken(2)}\n`;
    const { code, stdout } = await runCli(['send', '-c', config, '-a', '-', '-p', 'fcm', '-m', tempFile('plain.json', '{"title":"Hi"}'), '-n', '--json'], {
      cwd: root,
      stdin: csv,
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ recipients: { fcm: 2 } });
    // fixtures/message.json needs {{coupon}} (its {{name}} has a default), which this audience lacks: said once, before any row.
    const lacking = await runCli(['send', '-c', config, '-a', '-', '-p', 'fcm', '-m', 'fixtures/message.json', '-n', '--json'], { cwd: root, stdin: csv });
    expect(lacking.code).toBe(1);
    expect(lacking.stderr).toMatch(/^pushcast: message fixtures\/message\.json: \{\{coupon\}\} names no column of the audience; the columns of - are \(none\)\n$/);
  });

  it('plans a user-ID audience through the device registry, and creates no registry to do it', async () => {
    const dir = tempDir();
    const none = await runCli(['send', '-c', config, '-a', `${root}fixtures/users.csv`, '-m', `${root}fixtures/message.json`, '-n', '--json'], { cwd: dir });
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ shape: 'users', users: 4, recipients: { fcm: 0, apns: 0, webpush: 0 }, skipped: { 'unknown-user': 4 } });
    expect(existsSync(join(dir, 'pushcast.db'))).toBe(false);

    const devices = tempFile('devices.csv', `provider,token,user_id\nfcm,${fcmToken('u1')},u1001\napns,${apnsToken('u1')},u1001\nfcm,${fcmToken('u2')},u1002\n`);
    expect((await runCli(['devices', 'import', devices], { cwd: dir })).code).toBe(0);
    const resolved = await runCli(['send', '-c', config, '-a', `${root}fixtures/users.csv`, '-m', `${root}fixtures/message.json`, '-n', '--json'], { cwd: dir });
    expect(JSON.parse(resolved.stdout)).toMatchObject({ users: 4, recipients: { fcm: 2, apns: 1, webpush: 0 }, skipped: { 'unknown-user': 2 } });
  });
});

describe('what a dry run says of the credentials, which it never checks', () => {
  const notChecked = 'credentials not checked: a dry run contacts no provider; `pushcast doctor` checks them';
  const placeholder = (provider: string) => `${provider}: pushcast init's placeholder, not a key: fill in pushcast.config.json`;

  it("names each provider still holding pushcast init's placeholders, in the text, --quiet and --json", async () => {
    const dir = tempDir();
    expect((await runCli(['init', '--providers', 'fcm,apns,webpush'], { cwd: dir })).code).toBe(0);
    const plan = ['send', '--audience', 'audience.csv', '--message', 'message.json', '--dry-run'];
    const text = await runCli(plan, { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`\n  ${notChecked}\n    ${placeholder('fcm')}\n    ${placeholder('apns')}\n    ${placeholder('webpush')}\n\n`);
    const quiet = await runCli([...plan, '--quiet'], { cwd: dir });
    expect(quiet.stdout).toBe(
      `dry run: would send 3 devices (fcm 1, apns 1, webpush 1); 0 rows skipped; nothing sent; ${notChecked}\n${['fcm', 'apns', 'webpush'].map(placeholder).join('\n')}\n`,
    );
    const json = JSON.parse((await runCli([...plan, '--json'], { cwd: dir })).stdout);
    expect(json.credentials).toEqual({
      checked: false,
      note: notChecked,
      placeholders: ['fcm', 'apns', 'webpush'].map((provider) => ({ provider, note: placeholder(provider) })),
    });

    // A key saved where init's path points is a key: only the providers still holding placeholders are named.
    writeFileSync(join(dir, 'firebase-service-account.json'), JSON.stringify(emulator.credentials.serviceAccount));
    const saved = JSON.parse((await runCli([...plan, '--json'], { cwd: dir })).stdout);
    expect(saved.credentials.placeholders.map((item: { provider: string }) => item.provider)).toEqual(['apns', 'webpush']);
  });

  it('with real credentials, says only that they were not checked', async () => {
    const text = await runCli(fixtureArgs, { cwd: root });
    expect(text.stdout).toContain(`\n  ${notChecked}\n\n`);
    expect(text.stdout).not.toContain('placeholder');
    const quiet = await runCli([...fixtureArgs, '--quiet'], { cwd: root });
    expect(quiet.stdout.endsWith(`; nothing sent; ${notChecked}\n`)).toBe(true);
    const json = JSON.parse((await runCli([...fixtureArgs, '--json'], { cwd: root })).stdout);
    expect(json.credentials).toEqual({ checked: false, note: notChecked, placeholders: [] });
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });
  });
});

describe('the plan is the send: the same engine, with a provider that sends nothing', () => {
  /** What both say about every row: sent (or to be) per provider, and skipped by reason. */
  const planned = (plan: { recipients: Record<string, number>; skipped: Record<string, number> }) => ({ devices: plan.recipients, skipped: plan.skipped });
  const sent = (record: { providers: Record<string, { targeted: number }>; skippedByReason: Record<string, number> }) => ({
    devices: Object.fromEntries(Object.entries(record.providers).map(([name, counts]) => [name, counts.targeted])),
    skipped: record.skippedByReason,
  });

  it('skips the rows of a provider with no credentials, and a subscription on an endpoint not allowed, as the send does', async () => {
    const withoutApns = JSON.parse(readFileSync(config, 'utf8'));
    delete withoutApns.apns;
    const partial = tempFile('pushcast.config.json', JSON.stringify(withoutApns));
    const internal = { ...emulatorSubscription('internal'), endpoint: 'https://10.0.0.5/push/1' };
    const audience = tempFile(
      'mixed.csv',
      [
        'provider,token',
        `fcm,${fcmToken('p1')}`,
        `fcm,${fcmToken('p2')}`,
        `apns,${apnsToken('p3')}`,
        `apns,${apnsToken('p4')}`,
        `webpush,${subscriptionCell(emulatorSubscription('p5'))}`,
        `webpush,${subscriptionCell(internal)}`,
      ].join('\n'),
    );
    const message = tempFile('m.json', '{"title":"Hi"}');
    const plan = await runCli(['send', '-c', partial, '-a', audience, '-m', message, '--dry-run', '--json']);
    expect(plan.code).toBe(0);
    const real = await runCli(['send', '-c', partial, '-a', audience, '-m', message, '--json']);
    expect(real.code).toBe(0);
    expect(planned(JSON.parse(plan.stdout))).toEqual(sent(JSON.parse(real.stdout)));
    expect(planned(JSON.parse(plan.stdout))).toEqual({ devices: { fcm: 2, apns: 0, webpush: 1 }, skipped: { 'provider-not-configured': 2, 'endpoint-not-allowed': 1 } });
    expect(JSON.parse(plan.stdout).errors).toEqual([
      { line: 4, provider: 'apns', reason: 'provider-not-configured', detail: 'no apns credentials are configured' },
      { line: 5, provider: 'apns', reason: 'provider-not-configured', detail: 'no apns credentials are configured' },
      { line: 7, provider: 'webpush', reason: 'endpoint-not-allowed', detail: expect.stringContaining('https://10.0.0.5 is not a known push service') },
    ]);
    expect(emulator.stats().requests).toEqual({ fcm: 2, apns: 0, webpush: 1 }); // the send's, none of the plan's
  });

  it('with no credentials at all, says so and exits 2 as the send does, after showing what it read', async () => {
    const dir = tempDir();
    const plan = await runCli(['send', '-a', `${root}fixtures/audience.csv`, '-m', `${root}fixtures/message.json`, '--dry-run', '--json'], { cwd: dir });
    const real = await runCli(['send', '-a', `${root}fixtures/audience.csv`, '-m', `${root}fixtures/message.json`, '--json'], { cwd: dir });
    expect([plan.code, real.code]).toEqual([2, 2]);
    expect(plan.stderr).toBe(real.stderr);
    expect(real.stderr).toMatch(/^pushcast: no provider has credentials/);
    expect(JSON.parse(plan.stdout)).toMatchObject({ recipients: { fcm: 0, apns: 0, webpush: 0 }, skipped: { 'provider-not-configured': 14 } }); // 13 devices, and one that lacks a variable: never rendered, as in the send
  });
});

describe('usage errors: exit code 1, a clear message, never a stack trace', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['send', '--audiense', 'x.csv'], /unknown option '--audiense'[\s\S]*Did you mean --audience/],
    ['a missing audience file', ['send', '-a', 'missing.csv', '-m', 'fixtures/message.json', '-n'], /audience missing.csv: no such file/],
    ['a missing message file', ['send', '-a', 'fixtures/audience.csv', '-m', 'nope.json', '-n'], /message nope.json: no such file/],
    ['a missing config file', ['send', '--config', 'nope.json', '-a', 'fixtures/audience.csv', '-m', 'fixtures/message.json', '-n'], /config nope.json: no such file/],
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

  it('with no command, prints the help and exits 1', () => {
    const result = spawnSync(process.execPath, ['bin/pushcast.js'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/Usage: pushcast \[options\] \[command\][\s\S]*send /);
  });

  it('exits 1 on an unknown flag without a stack trace', () => {
    const result = spawnSync(process.execPath, ['bin/pushcast.js', 'send', '--bogus'], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("unknown option '--bogus'");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
