import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { settings } from '../src/config/settings.js';
import { runCli } from './helpers/run-cli.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { tempDir, tempFile } from './helpers/tokens.js';

const root = new URL('..', import.meta.url).pathname;

describe('configuration precedence: flag > environment > file > default', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ apns: { topic: 'com.example.file', keyId: 'FILEKEY' }, concurrency: 50, journalDir: 'file-journals' }));

  it('takes each setting from the strongest source that sets it', async () => {
    const env = { PUSHCAST_APNS_TOPIC: 'com.example.env', PUSHCAST_CONCURRENCY: '70' };
    const flags = [{ path: 'apns.topic', flag: '--apns-topic', value: 'com.example.flag' }];
    const { config, sources } = await loadConfig({ cwd: dir, env, flags });
    expect(config.apns?.topic).toBe('com.example.flag');
    expect(sources.get('apns.topic')).toEqual({ from: 'flag', name: '--apns-topic' });
    expect(config.concurrency).toBe(70);
    expect(sources.get('concurrency')).toEqual({ from: 'env', name: 'PUSHCAST_CONCURRENCY' });
    expect(config.apns?.keyId).toBe('FILEKEY');
    expect(sources.get('apns.keyId')?.from).toBe('file');
    expect(config.journalDir).toBe('file-journals');
    expect((await loadConfig({ cwd: tempDir(), env: {} })).config).toEqual({});
  });

  it('resolves a relative key path against the file that named it, and reads YAML too', async () => {
    const yamlDir = tempDir();
    writeFileSync(join(yamlDir, 'pushcast.config.yaml'), 'apns:\n  key: keys/AuthKey.p8\n  keyId: YAMLKEY\n');
    const { config } = await loadConfig({ cwd: root, env: { PUSHCAST_CONFIG: join(yamlDir, 'pushcast.config.yaml') } });
    expect(config.apns).toEqual({ key: join(yamlDir, 'keys/AuthKey.p8'), keyId: 'YAMLKEY' });
  });

  it('refuses a misspelt setting instead of ignoring it, and names the setting it is closest to', async () => {
    const bad = tempDir();
    writeFileSync(join(bad, 'pushcast.config.json'), JSON.stringify({ apns: { topik: 'x', keyid: 'ABC123DEFG', color: 'red' }, concurency: 5, fmc: {}, topic: 'com.example.app' }));
    const { code, stderr } = await runCli(['config'], { cwd: bad });
    expect(code).toBe(2);
    expect(stderr).toBe(
      `pushcast: config ${join(bad, 'pushcast.config.json')}: unknown setting "apns.topik" (did you mean "apns.topic"?); unknown setting "apns.keyid" (did you mean "apns.keyId"?); ` +
        'unknown setting "apns.color"; unknown setting "concurency" (did you mean "concurrency"?); unknown setting "fmc" (did you mean "fcm"?); ' +
        'unknown setting "topic" (did you mean "apns.topic"?) (see schema/config-v1.schema.json)\n',
    );
  });

  it('reads a section left empty as no settings, and names a section given a value that is not one', async () => {
    const empty = tempDir();
    writeFileSync(join(empty, 'pushcast.config.yaml'), 'fcm:\n  # serviceAccount: key.json\napns:\n  keyId: YAMLKEY\n');
    expect((await loadConfig({ cwd: empty, env: {} })).config).toEqual({ apns: { keyId: 'YAMLKEY' } });
    const wrong = tempDir();
    writeFileSync(join(wrong, 'pushcast.config.json'), JSON.stringify({ webpush: 'BPxyz' }));
    const { code, stderr } = await runCli(['config'], { cwd: wrong });
    expect(code).toBe(2);
    expect(stderr).toContain('"webpush" is a section of settings (an object such as {"vapidPublicKey": …}), not "BPxyz"');
  });

  it('refuses a thread count it cannot use, from the flag and from the file', async () => {
    const dir = tempDir();
    const flag = await runCli(['send', '--token', 'x', '--provider', 'fcm', '--title', 'Hi', '--workers', '1.5'], { cwd: dir });
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('--workers is a whole number of sending threads from 0 to 64 (0: send from the main thread), not "1.5"');
    writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ workers: 65 }));
    const file = await runCli(['send', '--token', 'x', '--provider', 'fcm', '--title', 'Hi'], { cwd: dir });
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('workers must be a whole number of sending threads from 0 to 64 (0: send from the main thread), not 65');
  });

  it('names every bad setting at once, each with where it was set: the file, the environment, a flag', async () => {
    const dir = tempDir();
    const file = join(dir, 'pushcast.config.json');
    writeFileSync(file, JSON.stringify({ requestTimeout: 'soon', fcm: { endpoint: 'http://proxy.example' }, concurency: 5 }));
    const env = { PUSHCAST_WORKERS: '65' };
    const result = await runCli(['send', '--token', 'x', '--provider', 'fcm', '--title', 'Hi', '--stall-timeout', 'forever'], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `pushcast: config ${file}: unknown setting "concurency" (did you mean "concurrency"?); fcm.endpoint must be an https URL, not http:; ` +
        'requestTimeout takes a duration of at least one second, such as 30, 30s or 2m, not "soon" (see schema/config-v1.schema.json); ' +
        '--stall-timeout takes a duration of at least one second, such as 30, 30s or 2m, not "forever"; ' +
        'PUSHCAST_WORKERS must be a whole number of sending threads from 0 to 64 (0: send from the main thread), not 65\n',
    );
    // Each problem on its own, with its setting and where it was set.
    const { configProblems } = await import('../src/config/check-config.js');
    const sources = new Map([
      ['requestTimeout', { from: 'file', name: file }],
      ['workers', { from: 'env', name: 'PUSHCAST_WORKERS' }],
      ['stallTimeout', { from: 'flag', name: '--stall-timeout' }],
    ] as const);
    expect(configProblems({ requestTimeout: 'soon', workers: 65, stallTimeout: 'forever' }, new Map(sources), file)).toEqual([
      { setting: 'requestTimeout', source: { from: 'file', name: file }, reason: 'requestTimeout takes a duration of at least one second, such as 30, 30s or 2m, not "soon"' },
      {
        setting: 'stallTimeout',
        source: { from: 'flag', name: '--stall-timeout' },
        reason: '--stall-timeout takes a duration of at least one second, such as 30, 30s or 2m, not "forever"',
      },
      {
        setting: 'workers',
        source: { from: 'env', name: 'PUSHCAST_WORKERS' },
        reason: 'PUSHCAST_WORKERS must be a whole number of sending threads from 0 to 64 (0: send from the main thread), not 65',
      },
    ]);
  });

  it('the config schema documents every setting pushcast reads', () => {
    const schema = JSON.parse(readFileSync(join(root, 'schema/config-v1.schema.json'), 'utf8'));
    const validate = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false }).compile(schema);
    for (const setting of settings) {
      const [section, key] = setting.path.split('.');
      const property = key ? schema.properties[section]?.properties?.[key] : schema.properties[section];
      expect(property, setting.path).toBeDefined();
      for (const variable of setting.env) expect(JSON.stringify(property), `${setting.path} names ${variable}`).toContain(variable);
    }
    expect(validate(JSON.parse(readFileSync(join(root, 'schema/report-v1.schema.json'), 'utf8')))).toBe(false); // it does check
  });
});

describe('a config file that is not what it should be', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());
  const message = tempFile('m.json', JSON.stringify({ title: 'Hi' }));

  it('refuses a 42 MB YAML file from its size, before parsing it', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 42 * 1024 * 1024; i++) size += lines[lines.push(`setting${i}: value number ${i}\n`) - 1].length;
    writeFileSync(join(dir, 'huge.yaml'), lines.join(''));
    // A hang guard, not a measure: the parse this replaces ran 10 minutes and took 2.2 GB.
    const result = await spawnCli(['config', '--config', 'huge.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 1, signal: null });
    expect(result.stderr).toBe('pushcast: config huge.yaml: 42 MB, too big for a config file (at most 64 KB): is it the right file?\n');
  });

  it('refuses a YAML alias bomb', async () => {
    const dir = tempDir();
    const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let level = 1; level < 9; level++)
      levels.push(
        `${'abcdefghi'[level]}: &${'abcdefghi'[level]} [${Array(9)
          .fill(`*${'abcdefghi'[level - 1]}`)
          .join(', ')}]`,
      );
    writeFileSync(join(dir, 'pushcast.config.yaml'), `${levels.join('\n')}\n`);
    const { code, stderr } = await runCli(['config'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^pushcast: config .*pushcast\.config\.yaml: not valid YAML: Excessive alias count indicates a resource exhaustion attack\n$/);
  });

  it('obeys SIGTERM while its config comes down a pipe whose writer is slow, and sends nothing', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'pushcast.config.json');
    execFileSync('mkfifo', [fifo]);
    const run = spawnCli(['send', '--config', fifo, '-a', audienceFile('fcm', 5, 'fifo'), '-m', message], { cwd: dir, timeoutMs: 120_000 });
    const writer = await open(fifo, 'w'); // once pushcast has opened the pipe to read it
    try {
      const config = JSON.stringify(emulator.config());
      await writer.write(config.slice(0, config.length / 2));
      run.child.kill('SIGTERM');
      const result = await run;
      expect({ code: result.code, signal: result.signal }).toEqual({ code: 130, signal: null });
      expect(result.stderr).toBe(`pushcast: interrupted while reading config ${fifo}; nothing was sent\n`);
    } finally {
      await writer.close();
    }
    expect(emulator.stats().requests.fcm).toBe(0);
  });

  it('keeps its error one short line, however many unknown settings and however long a value', async () => {
    const dir = tempDir();
    const settings = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`setting${i}`, i]));
    writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify(settings));
    const { code, stderr } = await runCli(['config'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toBe(
      `pushcast: config ${join(dir, 'pushcast.config.json')}: ${Array.from({ length: 10 }, (_, i) => `unknown setting "setting${i}"`).join('; ')}; and 1990 more (see schema/config-v1.schema.json)\n`,
    );
    writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ webpush: `${'B'.repeat(50_000)}\npushcast: campaign done` }));
    const value = await runCli(['config'], { cwd: dir });
    expect(value.stderr).toBe(
      `pushcast: config ${join(dir, 'pushcast.config.json')}: "webpush" is a section of settings (an object such as {"vapidPublicKey": …}), not "${'B'.repeat(60)}…" (50,024 characters) (see schema/config-v1.schema.json)\n`,
    );
  });

  it('names a value of the wrong kind, rather than failing on it as an unexpected error', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { apns: { key: { file: 'AuthKey.p8' } }, webpush: { allowedOrigins: 'https://push.example.com' } }, dir);
    const sent = await runCli(['send', '--config', config, '-a', audienceFile('apns', 5, 'kind'), '-m', message], { cwd: dir });
    expect(sent.code).toBe(2);
    expect(sent.stderr).toBe(
      `pushcast: config ${config}: apns.key must be text (a path, or the content itself), not {"file":"AuthKey.p8"}; webpush.allowedOrigins must be a list of text, not "https://push.example.com" (see schema/config-v1.schema.json)\n`,
    );
    const yamlDir = tempDir();
    writeFileSync(join(yamlDir, 'pushcast.config.yaml'), 'apns: &apns\n  key: *apns\n');
    const aliased = await runCli(['config'], { cwd: yamlDir });
    expect(aliased.stderr).toBe(
      `pushcast: config ${join(yamlDir, 'pushcast.config.yaml')}: apns.key must be text (a path, or the content itself), not an object (see schema/config-v1.schema.json)\n`,
    );
    expect(emulator.stats().requests.apns).toBe(0);
  });

  it('refuses a key file far bigger than key material, naming it and its size', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'AuthKey.p8'), '');
    truncateSync(join(dir, 'AuthKey.p8'), 5 * 1024 * 1024);
    const config = writeEmulatorConfig(emulator, { apns: { key: join(dir, 'AuthKey.p8') } }, dir);
    const { code, stderr } = await runCli(['send', '--config', config, '-a', audienceFile('apns', 5, 'bigkey'), '-m', message], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toBe(`pushcast: apns.key: ${join(dir, 'AuthKey.p8')}: 5 MB, too big for key material (at most 1 MB): is it the right file?\n`);
    expect(emulator.stats().requests.apns).toBe(0);
  });
});

describe('pushcast config', () => {
  it('prints where each value came from and never a secret', async () => {
    const dir = tempDir();
    const p8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ apns: { key: p8, keyId: 'ABC123DEFG', teamId: 'TEAM123456' } }));
    const vapid = 'cyv7n-L_gKtsZz6m3tAyq1n6sH2LwZ0aeKQq5rXqYHo';
    const { code, stdout } = await runCli(['config', '--apns-topic', 'x'].slice(0, 1), {
      cwd: dir,
      env: { PUSHCAST_VAPID_PRIVATE_KEY: vapid, GOOGLE_APPLICATION_CREDENTIALS: '/secrets/firebase.json', PUSHCAST_APNS_TOPIC: 'com.example.app' },
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/apns\.key\s+\(secret, set\)\s+\[file .*pushcast\.config\.json\]/);
    expect(stdout).toMatch(/webpush\.vapidPrivateKey\s+\(secret, set\)\s+\[env PUSHCAST_VAPID_PRIVATE_KEY\]/);
    expect(stdout).toMatch(/fcm\.serviceAccount\s+\(secret\) in file \/secrets\/firebase\.json\s+\[env GOOGLE_APPLICATION_CREDENTIALS\]/);
    expect(stdout).toMatch(/apns\.topic\s+com\.example\.app\s+\[env PUSHCAST_APNS_TOPIC\]/);
    expect(stdout).toMatch(/concurrency\s+fcm 500, apns 400, webpush 200 \(each a sending thread with --workers\)\s+\[default\]/);
    expect(stdout).toMatch(/stallTimeout\s+120s\s+\[default\]/);
    expect(stdout).not.toContain(vapid);
    for (const line of p8.split('\n').filter((text) => text && !text.startsWith('-----'))) expect(stdout).not.toContain(line);
  });
});

describe('a config file that is not JSON or YAML', () => {
  const key = 'cyv7n-L_gKtsZz6m3tAyq1n6sH2LwZ0aeKQq5rXqYHo';

  it('is named by line and column, and the line, which may hold a key, is not shown', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pushcast.config.json'), `{\n  "webpush": {\n    "vapidPrivateKey": '${key}'\n  }\n}\n`);
    const json = await runCli(['config'], { cwd: dir });
    expect(json.code).toBe(2);
    expect(json.stderr).toBe(
      `pushcast: config ${join(dir, 'pushcast.config.json')}: not valid JSON: line 3, column 24: expected a value (text in "double quotes", a number, true, false, null, an object or a list), found "'"\n`,
    );
    const yamlDir = tempDir();
    writeFileSync(join(yamlDir, 'pushcast.config.yaml'), `webpush:\n  vapidPublicKey: BPxyz\n  vapidPrivateKey: ${key}: x\n`);
    const yaml = await runCli(['config'], { cwd: yamlDir });
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toBe(`pushcast: config ${join(yamlDir, 'pushcast.config.yaml')}: not valid YAML: line 3, column 20: Nested mappings are not allowed in compact mappings\n`);
    for (const { stderr } of [json, yaml]) expect(stderr).not.toContain(key.slice(0, 8));
  });
});

describe('values from the environment and the config file on the terminal', () => {
  const forged = '\u001b]0;owned\u0007\npushcast: campaign done';
  const shown = '\\x1b]0;owned\\x07\\npushcast: campaign done';

  it('pushcast config escapes what they hold, and keeps each on its line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ webpush: { subject: `mailto:a@example.com${forged}` } }));
    const { code, stdout } = await runCli(['config'], {
      cwd: dir,
      env: { PUSHCAST_APNS_TOPIC: `com.example${forged}`, GOOGLE_APPLICATION_CREDENTIALS: `/secrets/firebase${forged}.json` },
    });
    expect(code).toBe(0);
    expect(stdout).toContain(`apns.topic               com.example${shown}   [env PUSHCAST_APNS_TOPIC]`);
    expect(stdout).toContain(`(secret) in file /secrets/firebase${shown}.json   [env GOOGLE_APPLICATION_CREDENTIALS]`);
    expect(stdout).toContain(`webpush.subject          mailto:a@example.com${shown}   [file`);
    // eslint-disable-next-line no-control-regex -- the test looks for raw control characters
    expect(stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(stdout).not.toMatch(/^pushcast: campaign done/m);
  });

  it('an error quoting one says it on one line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ [`apns${forged}`]: 1 }));
    const file = await runCli(['config'], { cwd: dir });
    expect(file.stderr).toBe(`pushcast: config ${join(dir, 'pushcast.config.json')}: unknown setting "apns${shown}" (see schema/config-v1.schema.json)\n`);
    const env = await runCli(['config'], { cwd: tempDir(), env: { PUSHCAST_CONCURRENCY: `many${forged}` } });
    expect(env.stderr).toBe(`pushcast: PUSHCAST_CONCURRENCY must be a number, not "many${shown}"\n`);
  });
});

describe('pushcast init', () => {
  it('writes files that a dry run accepts, and refuses to overwrite them', async () => {
    const dir = tempDir();
    const first = await runCli(['init', '--providers', 'fcm,apns,webpush'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('pushcast send --audience audience.csv --message message.json --dry-run');
    const plan = await runCli(['send', '-a', 'audience.csv', '-m', 'message.json', '--dry-run', '--json'], { cwd: dir });
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ recipients: { fcm: 1, apns: 1, webpush: 1 }, skipped: {} });

    writeFileSync(join(dir, 'message.json'), '{"title": "mine"}');
    const again = await runCli(['init', '--providers', 'fcm'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('pushcast.config.json, message.json, audience.csv already exist: nothing was written');
    expect(readFileSync(join(dir, 'message.json'), 'utf8')).toBe('{"title": "mine"}');
    expect((await runCli(['init', '--providers', 'fcm', '--force'], { cwd: dir })).code).toBe(0);
  });
});

describe('pushcast doctor', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  it("passes with good credentials, without delivering anything to a device of the emulator's choosing", async () => {
    const dir = tempDir();
    writeEmulatorConfig(emulator, {}, dir);
    const { code, stdout } = await runCli(['doctor'], { cwd: dir });
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/fcm\n {2}ok +service account read/);
    expect(stdout).toContain('FCM (validate_only) accepted the credentials');
    expect(stdout).toContain('APNs, to a token no device has, accepted the credentials');
    expect(stdout).toMatch(/webpush\n {2}ok +VAPID key pair matches[\s\S]*n\/a +whether push services accept this VAPID key/);
    expect(emulator.stats().validated).toBe(1);
    expect(emulator.delivered().filter((item) => item.provider === 'fcm')).toEqual([]);
  });

  it('names the problem with a wrong key', async () => {
    const dir = tempDir();
    const wrongKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const wrongAccount = {
      ...emulator.credentials.serviceAccount,
      private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    };
    writeEmulatorConfig(emulator, { apns: { key: wrongKey }, fcm: { serviceAccount: JSON.stringify(wrongAccount) } }, dir);
    const { code, stdout } = await runCli(['doctor'], { cwd: dir });
    expect(code).toBe(2);
    expect(stdout).toMatch(/fcm\n {2}BAD +FCM: the token endpoint rejected the service account/);
    expect(stdout).toMatch(
      /apns\n {2}ok +APNs TLS: [^\n]* presents a chain this machine trusts[^\n]*\n {2}ok +signing key read[^\n]*\n {2}BAD +APNs, to a token no device has, refused: InvalidProviderToken \(credentials-refused\)/,
    );
  });

  it('names a provider host that does not resolve, and what to check', async () => {
    const dir = tempDir();
    writeEmulatorConfig(emulator, { apns: { endpoint: 'https://pushcast-test.invalid' } }, dir);
    const { code, stdout } = await runCli(['doctor'], { cwd: dir });
    expect(code).toBe(2);
    expect(stdout).toMatch(
      /apns\n {2}BAD +cannot resolve pushcast-test\.invalid: no network or DNS, or apns\.endpoint names a wrong host\n +next: check this machine's network and DNS; then run pushcast doctor again\nwebpush/,
    );
  });

  it('says what to do next when a credential cannot be read', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ fcm: { serviceAccount: './missing.json' } }));
    const { code, stdout } = await runCli(['doctor'], { cwd: dir });
    expect(code).toBe(2);
    expect(stdout).toMatch(
      /fcm\n {2}BAD +fcm\.serviceAccount: .*missing\.json: no such file\n +next: in the Firebase console, Project settings > Service accounts > Generate new private key; set fcm\.serviceAccount/,
    );
  });
});
