// `send --where`: registry devices chosen by a Parse-style query, with the attributes an import or
// `devices set` gave them, through the CLI against the emulator: what it received is the proof.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { apnsToken, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** A registry of five devices, two with plan "pro" (one from the CSV, one from devices set), and its emulator config. */
async function registryWithAttributes(): Promise<{ dir: string; config: string }> {
  const dir = tempDir();
  const csv = [
    'provider,token,user_id,platform,locale,channels,plan,App Version',
    `fcm,${fcmToken('w1')},u1,android,fa,news,pro,3.2`,
    `apns,${apnsToken('w2')},u2,ios,en,news;sales,free,10`,
    `fcm,${fcmToken('w3')},u3,android,ar,,,`,
    `apns,${apnsToken('w4')},u4,ios,fa,sales,free,1.2.3`,
    `fcm,${fcmToken('w5')},u2,android,en,news,free,4`,
  ].join('\n');
  const imported = await runCli(['devices', 'import', tempFile('devices.csv', csv)], { cwd: dir });
  expect(imported.code, imported.stderr).toBe(0);
  const set = await runCli(['devices', 'set', '--user', 'u4', 'plan=pro', 'country=IR'], { cwd: dir });
  expect(set.stdout).toContain('1 device of user u4: plan=pro, country=IR');
  return { dir, config: writeEmulatorConfig(emulator, {}, dir) };
}

const delivered = () =>
  emulator
    .delivered()
    .map((item) => item.token)
    .sort();

describe('send --where', () => {
  it('sends to exactly the devices the query matches, with their attributes in the template, and the record keeps the query', async () => {
    const { dir, config } = await registryWithAttributes();
    const message = tempFile('m.json', JSON.stringify({ title: 'Your {{plan}} plan', body: 'News' }));
    const where = '{"plan":"pro","locale":{"$in":["fa","en"]}}';
    const sent = await runCli(['send', '--config', config, '--where', where, '-m', message, '--json'], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    expect(delivered()).toEqual([fcmToken('w1'), apnsToken('w4')].sort());
    expect(emulator.delivered().find((item) => item.provider === 'fcm')!.message).toMatchObject({ notification: { title: 'Your pro plan' } });
    const record = JSON.parse(sent.stdout);
    expect(record).toMatchObject({ where, audience: `registry devices where ${where}`, counts: { targeted: 2, accepted: 2 }, lineIs: 'registry-device-id' });
    const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: true });
    (addFormats as unknown as typeof addFormats.default)(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'schema/report-v1.schema.json'), 'utf8')));
    expect(validate(record), JSON.stringify(validate.errors)).toBe(true);

    // The same command again is the same campaign: its journal says both were sent.
    emulator.reset();
    const again = JSON.parse((await runCli(['send', '--config', config, '--where', where, '-m', message, '--json'], { cwd: dir })).stdout);
    expect(again.campaign).toBe(record.campaign);
    expect(delivered()).toEqual([]);
    // Another query is another campaign; with --channel both must hold; ages and numbers compare.
    const other = await runCli(['send', '--config', config, '--channel', 'news', '--where', '{"App_Version":{"$gte":4},"lastSeen":{"$gt":"1d"}}', '-m', message, '--json'], {
      cwd: dir,
    });
    expect(other.code, other.stderr).toBe(0);
    expect(JSON.parse(other.stdout).campaign).not.toBe(record.campaign);
    expect(delivered()).toEqual([apnsToken('w2'), fcmToken('w5')].sort());
  });

  it("with a user-ID audience sends to the users' devices the query matches, and says why the others got nothing", async () => {
    const { dir, config } = await registryWithAttributes();
    const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));
    const users = tempFile('users.csv', 'user_id,name\nu1,Sara\nu2,Ali\nu3,Reza\n');
    const sent = await runCli(['send', '--config', config, '-a', users, '--where', '{"platform":"ios"}', '-m', message, '--json'], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    expect(delivered()).toEqual([apnsToken('w2')]);
    const record = JSON.parse(sent.stdout);
    expect(record.skippedByReason).toEqual({ 'no-device': 2 });
    expect(record.errors.map((error: { detail: string }) => error.detail)).toEqual(["none of this user's devices matches --where", "none of this user's devices matches --where"]);
  });

  it("a Parse export's own fields (appVersion, a custom plan) become attributes a query and a template read", async () => {
    const dir = tempDir();
    const exported = [
      { deviceType: 'android', pushType: 'gcm', deviceToken: fcmToken('p1'), appVersion: '2.1', plan: 'pro', beta: true, ACL: { '*': { read: true } }, tags: ['a'] },
      { deviceType: 'android', pushType: 'gcm', deviceToken: fcmToken('p2'), appVersion: '2.0', plan: 'free' },
    ];
    const imported = await runCli(['devices', 'import', '--from', 'parse', tempFile('_Installation.json', JSON.stringify({ results: exported }))], { cwd: dir });
    expect(imported.code, imported.stderr).toBe(0);
    const message = tempFile('m.json', JSON.stringify({ title: 'Version {{appVersion}}', body: '{{plan}} {{beta}}' }));
    const config = writeEmulatorConfig(emulator, {}, dir);
    const sent = await runCli(['send', '--config', config, '--where', '{"appVersion":{"$gte":2.1},"beta":true}', '-m', message], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    expect(emulator.delivered().map((item) => [item.token, item.message])).toEqual([
      [fcmToken('p1'), expect.objectContaining({ notification: expect.objectContaining({ title: 'Version 2.1', body: 'pro true' }) })],
    ]);
    const listed = await runCli(['send', '--config', config, '--where', '{"ACL":{"$exists":true}}', '-m', message], { cwd: dir });
    expect(listed.stderr).toContain("the registry's attributes: appVersion, beta, plan"); // not the ACL, not a list
  });

  it('a dry run counts and shows the devices it would reach, and sends nothing', async () => {
    const { dir, config } = await registryWithAttributes();
    const message = tempFile('m.json', JSON.stringify({ title: 'Hello', body: 'News' }));
    const plan = await runCli(['send', '--config', config, '--where', '{"channels":{"$in":["sales"]}}', '-m', message, '--dry-run', '--json'], { cwd: dir });
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ dryRun: true, where: '{"channels":{"$in":["sales"]}}', recipients: { fcm: 0, apns: 2, webpush: 0 } });
    const text = await runCli(['send', '--config', config, '--where', '{"channels":{"$in":["sales"]}}', '-m', message, '--dry-run'], { cwd: dir });
    expect(text.stdout).toContain('registry devices where {"channels":{"$in":["sales"]}}');
    expect(emulator.attemptLog()).toEqual([]);
  });

  it('refuses an unknown field or operator with the known ones, a value of the wrong kind, and a list of tokens', async () => {
    const { dir, config } = await registryWithAttributes();
    const message = tempFile('m.json', JSON.stringify({ title: 'Hello', body: 'News' }));
    const send = (...args: string[]) => runCli(['send', '--config', config, '-m', message, ...args], { cwd: dir });
    const field = await send('--where', '{"plann":"pro"}');
    expect(field.code).toBe(1);
    expect(field.stderr).toContain('--where plann: unknown field (did you mean plan?)');
    expect(field.stderr).toContain("the registry's attributes: App_Version, country, plan");
    const operator = await send('--where', '{"locale":{"$regex":"^f"}}');
    expect(operator.stderr).toMatch(/--where locale\.\$regex: unknown operator; pushcast knows \$in, \$nin, \$ne, \$exists/);
    expect((await send('--where', '{"badge":"2"}')).stderr).toContain('badge is a number');
    expect((await send('--where', '{"lastSeen":{"$gt":"30 days"}}')).stderr).toContain('not a time: "30 days"');
    expect((await send('--where', 'platform=ios')).stderr).toContain('not JSON');
    const tokens = tempFile('tokens.csv', `provider,token\nfcm,${fcmToken('t1')}\n`);
    const listed = await send('-a', tokens, '--where', '{"platform":"ios"}');
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain('a list of tokens');
    expect(emulator.attemptLog()).toEqual([]);
  });

  it('an attribute no device has stops the campaign before a send, naming what the registry holds', async () => {
    const { dir, config } = await registryWithAttributes();
    const message = tempFile('m.json', JSON.stringify({ title: 'Hello {{tier}}', body: 'News' }));
    const sent = await runCli(['send', '--config', config, '--channel', '*', '-m', message], { cwd: dir });
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/tier/);
    expect(sent.stderr).toContain('country');
    expect(emulator.attemptLog()).toEqual([]);
  });
});
