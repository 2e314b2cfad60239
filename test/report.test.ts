import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultBehaviour, fateOf } from '../src/emulator/fate.js';
import { runCli } from './helpers/run-cli.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { audienceFile, quotedCell, tokenCell } from './helpers/audience.js';
import { readCsvWithPython } from './helpers/read-csv-python.js';
import { apnsToken, emulatorSubscription, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

const root = new URL('..', import.meta.url).pathname;
const schema = JSON.parse(readFileSync(join(root, 'schema/report-v1.schema.json'), 'utf8'));
const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: true });
(addFormats as unknown as typeof addFormats.default)(ajv);
const validate = ajv.compile(schema);
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

function readCsv(path: string): string[][] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(','));
}

/** 60 rows per provider plus rows the provider refuses and rows that keep failing. */
function audienceWithTrouble(): string {
  const rows = ['provider,token,name'];
  for (let i = 0; i < 60; i++) rows.push(`fcm,${fcmToken(`r${i}`)},F${i}`, `apns,${apnsToken(`r${i}`)},A${i}`, `webpush,${tokenCell('webpush', `r${i}`)},W${i}`);
  rows.push(`apns,${apnsToken('too-large')},big`, `webpush,${tokenCell('webpush', 'keeps-failing')},down`, `apns,${apnsToken('keeps-failing')},down`, 'fcm,bad token,x');
  return tempFile('trouble.csv', `${rows.join('\n')}\n`);
}

const forced = {
  [apnsToken('too-large')]: { status: 413, reason: 'PayloadTooLarge' },
  [emulatorSubscription('keeps-failing').endpoint]: { status: 503, reason: 'down', retryAfterSeconds: 0 },
  [apnsToken('keeps-failing')]: { status: 503, reason: 'ServiceUnavailable', retryAfterSeconds: 0 },
};

describe('the token-validity report', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'report', unregistered: 0.15, forced });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    for (const [token, answer] of Object.entries(forced)) emulator.behaviour.forced.set(token, answer);
  });

  it('counts match what the emulator recorded, the prune list holds exactly the dead tokens, and the report fits its schema', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const { code, stdout } = await runCli(
      ['send', '--config', config, '-a', audienceWithTrouble(), '-m', message, '--report', 'report.json', '--invalid-out', 'prune.csv', '--failed-out', 'again.csv'],
      { cwd: dir },
    );
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);

    const stats = emulator.stats();
    for (const provider of ['fcm', 'apns', 'webpush'] as const) {
      expect(report.providers[provider].accepted).toBe(stats.accepted[provider]);
    }
    expect(report.counts).toMatchObject({ targeted: 183, rejected: 1, failed: 2, uncertain: 0, skipped: 1 });
    expect(report.counts.accepted + report.counts.invalid + report.counts.rejected + report.counts.failed).toBe(183);
    expect(report).toMatchObject({ devices: 183, successes: report.counts.accepted, invalidTokens: report.counts.invalid });
    // One vocabulary across providers; the provider's own word stays in each row's detail.
    expect(report.rejectedByReason).toEqual({ 'payload-too-large': 1 });
    expect(report.failedByReason).toEqual({ unavailable: 2 });
    expect(report.errors).toContainEqual(expect.objectContaining({ kind: 'rejected', reason: 'payload-too-large', detail: 'PayloadTooLarge' }));
    expect(report.errors).toContainEqual(expect.objectContaining({ kind: 'skipped', reason: 'malformed-token', line: 185 }));
    expect(report.message.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(stdout).toContain('they do not report delivery');

    // The prune list: exactly the tokens the emulator treats as dead, with the provider's reason.
    const behaviour = { ...defaultBehaviour, seed: 'report', unregistered: 0.15 };
    const expected = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      for (const [provider, token, reason] of [
        ['fcm', fcmToken(`r${i}`), 'unregistered'],
        ['apns', apnsToken(`r${i}`), 'unregistered'],
        ['webpush', emulatorSubscription(`r${i}`).endpoint, 'unregistered'],
      ] as const) {
        if (fateOf(behaviour, provider, token, 1) === 'unregistered') expected.set(token, `${provider} ${reason}`);
      }
    }
    const [header, ...rows] = readCsv(join(dir, 'prune.csv'));
    expect(header).toEqual(['provider', 'token', 'user_id', 'reason', 'detail', 'time']);
    expect(new Map(rows.map((row) => [row[1], `${row[0]} ${row[3]}`]))).toEqual(expected);
    expect(report.counts.invalid).toBe(expected.size);
  });

  it('the failed-out file, fed back as the audience, sends exactly those recipients', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    await runCli(['send', '--config', config, '-a', audienceWithTrouble(), '-m', message, '--failed-out', 'again.csv'], { cwd: dir });
    const again = readFileSync(join(dir, 'again.csv'), 'utf8');
    expect(again.split('\n')[0]).toBe('provider,token,name');

    emulator.reset();
    emulator.behaviour.forced.clear(); // the outage is over
    const { code, stdout } = await runCli(['send', '--config', config, '-a', 'again.csv', '-m', message, '--json'], { cwd: dir });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).counts).toMatchObject({ targeted: 2, accepted: 2 });
    expect(
      emulator
        .delivered()
        .map((item) => item.token)
        .sort(),
    ).toEqual([apnsToken('keeps-failing'), emulatorSubscription('keeps-failing').endpoint].sort());
  });

  it("pushcast report counts the run's requests and retries as the run did, refused streams' resends among them", async () => {
    // APNs cuts a connection to one stream at each of these dead tokens, refusing the streams
    // already sent over that limit: each is resent, a request beyond the recipient's first.
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const sent = await runCli(['send', '--config', config, '-a', audienceFile('apns', 600, 'refusals'), '-m', message, '--campaign', 'refusals', '--json'], { cwd: dir });
    const record = JSON.parse(sent.stdout);
    expect(record.counts).toMatchObject({ targeted: 600, uncertain: 0, failed: 0 });
    expect(record.retries).toBeGreaterThan(0);
    expect(record.sends - record.retries).toBe(600);
    const reported = JSON.parse((await runCli(['report', 'refusals', '--json'], { cwd: dir })).stdout);
    expect({ sends: reported.sends, retries: reported.retries }).toEqual({ sends: record.sends, retries: record.retries });
  });

  it('pushcast report prints the report again from the journal, merging shards', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('fcm', 300, 'merge');
    const shards = [];
    for (const shard of ['1/3', '2/3', '3/3']) {
      const { stdout } = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'merged', '--shard', shard, '--json'], { cwd: dir });
      shards.push(JSON.parse(stdout));
    }
    const { code, stdout } = await runCli(['report', 'merged', '--json'], { cwd: dir });
    expect(code).toBe(0);
    const merged = JSON.parse(stdout);
    expect(validate(merged), JSON.stringify(validate.errors)).toBe(true);
    expect(merged.counts.targeted).toBe(300);
    expect(merged.counts.accepted).toBe(shards.reduce((sum, shard) => sum + shard.counts.accepted, 0));
    expect(merged.counts.accepted).toBe(emulator.stats().accepted.fcm);
    // Each shard's run is in the history, and the merged report knows the shards kept journals.
    expect(merged.runs.map((run: { shard?: string }) => run.shard).sort()).toEqual(['1/3', '2/3', '3/3']);
    expect(merged.overall.sends).toBe(merged.runs.reduce((sum: number, run: { sends: number }) => sum + run.sends, 0));
    const text = await runCli(['report', 'merged'], { cwd: dir });
    expect(text.stdout).toContain('3 shard journals merged');
    expect(text.stdout).not.toContain('no journal');
    expect((await runCli(['report', 'nope'], { cwd: dir })).stderr).toContain('no journal for campaign "nope"');
  });

  it('never writes a credential into a report or a file', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    await runCli(
      [
        'send',
        '--config',
        config,
        '-a',
        audienceWithTrouble(),
        '-m',
        message,
        '--report',
        'r.json',
        '--invalid-out',
        'p.csv',
        '--failed-out',
        'f.csv',
        '--campaign',
        'secret-check',
      ],
      { cwd: dir },
    );
    const written = ['r.json', 'p.csv', 'f.csv', '.pushcast/secret-check.jsonl'].map((file) => readFileSync(join(dir, file), 'utf8')).join('\n');
    const { credentials } = emulator;
    expect(written).not.toContain(credentials.vapid.privateKey);
    for (const pem of [credentials.apns.key, credentials.serviceAccount.private_key]) {
      for (const line of pem.split('\n').filter((text) => text && !text.startsWith('-----'))) expect(written).not.toContain(line);
    }
  });
});

describe('pushcast check', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'check', unregistered: 0.25 });
  });
  afterAll(() => emulator.close());

  it('marks dead FCM tokens with a validate_only send, delivers nothing, and says plainly what it could not check', async () => {
    const rows = ['provider,token'];
    for (let i = 0; i < 40; i++) rows.push(`fcm,${fcmToken(`c${i}`)}`);
    rows.push(`apns,${apnsToken('c')}`, `webpush,${tokenCell('webpush', 'c')}`, 'apns,123');
    const dir = tempDir();
    const { code, stdout } = await runCli(
      ['check', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', tempFile('c.csv', rows.join('\n')), '--invalid-out', 'prune.csv', '--json'],
      { cwd: dir },
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    const behaviour = { ...defaultBehaviour, seed: 'check', unregistered: 0.25 };
    const dead = Array.from({ length: 40 }, (_, i) => fcmToken(`c${i}`)).filter((token) => fateOf(behaviour, 'fcm', token, 1) === 'unregistered');
    expect(report.providers.fcm).toMatchObject({ targeted: 40, invalid: dead.length, accepted: 40 - dead.length });
    expect(report.skippedByReason).toEqual({ 'format-checked-only': 2, 'malformed-token': 1 });
    expect(report.errors).toContainEqual(expect.objectContaining({ reason: 'format-checked-only', detail: expect.stringContaining('APNs has no dry run') }));
    expect(emulator.delivered()).toEqual([]);
    expect(emulator.stats().validated).toBe(40 - dead.length);
    expect(report.command).toBe('check');
    const text = await runCli(['check', '--config', writeEmulatorConfig(emulator, {}, dir), '-a', tempFile('c.csv', rows.join('\n'))], { cwd: dir });
    expect(text.stdout).toContain(`valid ${40 - dead.length} (`);
    expect(text.stdout).toContain('nothing was delivered');
    expect(text.stdout).not.toContain('they do not report delivery');
    expect(
      readCsv(join(dir, 'prune.csv'))
        .slice(1)
        .map((row) => row[1])
        .sort(),
    ).toEqual(dead.sort());
  });
});

describe('the sanity guard on mass invalid tokens', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'guard', badDeviceToken: 0.6 });
  });
  afterAll(() => emulator.close());

  it('calls them suspect, keeps them off the prune list, and exits 3; --trust-invalid prunes them', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('apns', 200, 'guard');
    const guarded = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--invalid-out', 'prune.csv', '--json', '--no-journal'], { cwd: dir });
    expect(guarded.code).toBe(3);
    const report = JSON.parse(guarded.stdout);
    const bad = report.invalidByReason['bad-token'];
    expect(bad).toBeGreaterThan(100);
    expect(report.suspect).toEqual([expect.objectContaining({ group: 'apns/production', invalid: bad, targeted: 200, note: expect.stringContaining('environment') })]);
    expect(guarded.stderr).toContain('--trust-invalid');
    expect(readCsv(join(dir, 'prune.csv'))).toHaveLength(1); // the header alone
    expect(readCsv(join(dir, 'prune.suspect.csv'))).toHaveLength(bad + 1);

    const trusted = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--invalid-out', 'prune.csv', '--trust-invalid', '--no-journal'], { cwd: dir });
    expect(trusted.code).toBe(0);
    expect(readCsv(join(dir, 'prune.csv'))).toHaveLength(bad + 1);
  });
});

describe('the files a campaign writes, read back', () => {
  /** Names a spreadsheet or a CSV reader could take for something else, as the audience holds them, and what each sends. */
  const names: Array<[cell: string, sent: string]> = [
    ['=1+1', '=1+1'],
    ['+1+1', '+1+1'],
    ['-1+1', '-1+1'],
    ['@SUM(A1)', '@SUM(A1)'],
    ['\tTab', '\tTab'],
    ['\r=1+1', '\r=1+1'],
    ['bare\r=1+1', 'bare\r=1+1'],
    ['crlf\r\n=1+1', 'crlf\r\n=1+1'],
    ['lf\n@SUM(A1)', 'lf\n@SUM(A1)'],
    ['say "hi"', 'say "hi"'],
    ['a,b', 'a,b'],
    ['a;b', 'a;b'],
    ['a\tb', 'a\tb'],
    ['nul\0here', 'nul\0here'],
    ['-20%', '-20%'],
    ["'plain", "'plain"],
    // A spreadsheet's text mark before a formula is not part of the value.
    ["'=1+1", '=1+1'],
    ["''=1+1", "'=1+1"],
  ];
  const dashToken = `-${fcmToken('trip-dash').slice(1)}`; // an FCM token may start with "-"
  const tokens = names.map((_, index) => (index === 0 ? dashToken : fcmToken(`trip-${index}`)));
  const subscription = emulatorSubscription('trip-web');
  // A push service's words go into the prune list's detail: web push's are the answer's body.
  const dead = emulatorSubscription('trip-dead');
  const deadWords = '=1+1,"x";y\r\n@SUM(A1)';
  const down = { status: 503, reason: 'UNAVAILABLE', retryAfterSeconds: 0 };
  const outage = (): Array<[string, { status: number; reason: string; retryAfterSeconds?: number }]> => [
    ...tokens.map((token) => [token, down] as [string, typeof down]),
    [subscription.endpoint, { status: 503, reason: 'down', retryAfterSeconds: 0 }],
    [dead.endpoint, { status: 410, reason: deadWords }],
  ];

  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'round-trip' });
  });
  afterAll(() => emulator.close());
  beforeEach(() => {
    emulator.reset();
    emulator.behaviour.forced.clear();
    for (const [token, answer] of outage()) emulator.behaviour.forced.set(token, answer);
  });

  /** An audience as a spreadsheet exports it, every cell quoted, CRLF line ends: written without pushcast's own CSV code. */
  function audience(delimiter: string): string {
    const rows = [
      ['provider', 'token', 'name'],
      ...names.map(([cell], index) => ['fcm', tokens[index], cell]),
      ['webpush', JSON.stringify(subscription), '=HYPERLINK("x")'],
      ['webpush', JSON.stringify(dead), 'Bo'],
    ];
    return tempFile('hostile.csv', `${rows.map((row) => row.map(quotedCell).join(delimiter)).join('\r\n')}\r\n`);
  }

  it.each([
    ['commas', ','],
    ['semicolons', ';'],
    ['tabs', '\t'],
  ])("the failed-out file of a file with %s, sent again, sends each recipient exactly the audience's text", async (_what, delimiter) => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const first = await runCli(['send', '--config', config, '-a', audience(delimiter), '-m', message, '--failed-out', 'again.csv', '--invalid-out', 'prune.csv', '--json'], {
      cwd: dir,
    });
    expect(JSON.parse(first.stdout).counts).toMatchObject({ targeted: names.length + 2, failed: names.length + 1, invalid: 1 });

    // Python's csv, as the users' other tools, finds one row per recipient, each of three cells, tokens untouched, no cell a formula.
    const again = readCsvWithPython(join(dir, 'again.csv'), delimiter);
    expect(again).toHaveLength(names.length + 2);
    expect(again[0]).toEqual(['provider', 'token', 'name']);
    expect(again.map((row) => row.length)).toEqual(again.map(() => 3));
    expect(
      again
        .slice(1)
        .map((row) => row[1])
        .sort(),
    ).toEqual([...tokens, JSON.stringify(subscription)].sort()); // in the order they failed
    for (const [, , name] of again.slice(1)) expect(name).not.toMatch(/^([=@\t\r]|[+-][^\d])/);
    const prune = readCsvWithPython(join(dir, 'prune.csv'));
    expect(prune).toHaveLength(2);
    expect(prune[1]).toEqual(['webpush', dead.endpoint, '', 'unregistered', `HTTP 410: ${JSON.stringify({ reason: deadWords })}`, expect.any(String)]);

    emulator.reset();
    emulator.behaviour.forced.clear(); // the outage is over
    const second = await runCli(['send', '--config', config, '-a', 'again.csv', '-m', message, '--json'], { cwd: dir });
    expect(JSON.parse(second.stdout).counts).toMatchObject({ targeted: names.length + 1, accepted: names.length + 1 });
    const titles = new Map(emulator.delivered().map(({ token, message }) => [token, titleOf(message)]));
    expect(titles).toEqual(new Map([...names.map(([, sent], index): [string, string] => [tokens[index], `Hi ${sent}`]), [subscription.endpoint, 'Hi =HYPERLINK("x")']]));
  });
});

/** The title a delivered FCM message or web push payload shows. */
function titleOf(message: unknown): string | undefined {
  const delivered = message as { notification?: { title?: string }; title?: string };
  return delivered.notification?.title ?? delivered.title;
}

describe('--failed-out of a user-ID audience', () => {
  it('names the devices not sent, so sending it again reaches them and not the devices of the same user that were', async () => {
    const stuck = fcmToken('user-stuck');
    const flaky = await startEmulator({ seed: 'users-failed', forced: { [stuck]: { status: 503, reason: 'UNAVAILABLE', retryAfterSeconds: 0 } } });
    try {
      const dir = tempDir();
      const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
      await registry.upsert([
        { userId: 'u1', provider: 'fcm', token: fcmToken('user-ok') },
        { userId: 'u1', provider: 'fcm', token: stuck, locale: 'fa', timezone: 'Asia/Tehran' },
        { userId: 'u2', provider: 'apns', token: apnsToken('user-ok'), environment: 'sandbox', app: 'com.example.pushcast' },
      ]);
      await registry.close();
      const config = writeEmulatorConfig(flaky, {}, dir);
      const users = tempFile('users.csv', 'user_id,name\nu1,Ana\nu2,Bo\n');
      const hello = tempFile('hello.json', JSON.stringify({ title: 'Hi {{name}}', locales: { fa: { title: 'سلام {{name}}' } } }));
      const first = await runCli(['send', '--config', config, '-a', users, '-m', hello, '--failed-out', 'rest.csv', '--json'], { cwd: dir });
      expect(JSON.parse(first.stdout).counts).toMatchObject({ targeted: 3, accepted: 2, failed: 1 });
      const rest = readFileSync(join(dir, 'rest.csv'), 'utf8').trim().split('\n');
      expect(rest).toEqual(['provider,token,apns_topic,apns_environment,user_id,name,locale,timezone', `fcm,${stuck},,,u1,Ana,fa,Asia/Tehran`]);

      // The device answers now: sending the file reaches it, in its language, and no other device of u1.
      flaky.behaviour.forced.delete(stuck);
      const before = flaky.delivered().length;
      const again = await runCli(['send', '--config', config, '-a', join(dir, 'rest.csv'), '-m', hello, '--json'], { cwd: dir });
      expect(again.code, again.stderr).toBe(0);
      const sent = flaky.delivered().slice(before);
      expect(sent.map((item) => [item.token, (item.message as { notification: { title: string } }).notification.title])).toEqual([[stuck, 'سلام Ana']]);
      expect(flaky.stats().duplicates).toBe(0);
    } finally {
      await flaky.close();
    }
  });
});

describe('pushcast report finds the journals where send keeps them', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'where' });
  });
  afterAll(() => emulator.close());

  it("in the config file's journalDir, or $PUSHCAST_JOURNAL_DIR, without --journal-dir", async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { journalDir: 'journals' }, dir);
    const sent = await runCli(['send', '--config', config, '-a', audienceFile('fcm', 5, 'where'), '-m', message, '--campaign', 'where', '--quiet'], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    const report = await runCli(['report', 'where', '--config', config, '--json'], { cwd: dir });
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout).counts.targeted).toBe(5);
    const byEnv = await runCli(['report', 'where', '--json'], { cwd: dir, env: { PUSHCAST_JOURNAL_DIR: 'journals' } });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    const list = await runCli(['report', '--config', config], { cwd: dir });
    expect(list.stdout).toMatch(/^where +done/m);
  });
});
