import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { openTerminal } from './helpers/terminal.js';
import { waitFor } from './helpers/wait-for.js';
import { fcmToken, tempDir, tempFile } from './helpers/tokens.js';

/**
 * The `devices` commands an operator runs on a registry: prune (its age, its dry run, the question
 * before a large one), list and stats (which device is what), register's provider and the group's
 * help. Through the CLI, against a SQLite registry in a temporary folder.
 */

const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
const days = 86_400;

/** A folder whose ./pushcast.db holds one fcm device per entry, token fcmToken(name), user the name, last seen as given. */
async function registryWith(devices: Record<string, string>): Promise<{ dir: string; cli: (...args: string[]) => ReturnType<typeof runCli>; tokens: () => Promise<string[]> }> {
  const dir = tempDir();
  const csv = ['provider,token,user_id,last_seen', ...Object.entries(devices).map(([name, lastSeen]) => `fcm,${fcmToken(name)},${name},${lastSeen}`)];
  writeFileSync(join(dir, 'devices.csv'), `${csv.join('\n')}\n`);
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  expect((await cli('devices', 'import', 'devices.csv')).code).toBe(0);
  /** What the registry file holds now, read afresh. */
  const tokens = async () => {
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    try {
      const tokens: string[] = [];
      for await (const device of registry.selectDevices({ includeInvalid: true })) tokens.push(device.token);
      return tokens.sort();
    } finally {
      await registry.close();
    }
  };
  return { dir, cli, tokens };
}

/** Nine devices seen 100 seconds ago and one 100 days ago: pruning the old one is a tenth, asked about by nobody. */
const tenSeenRecently = () => ({ old: ago(100 * days), ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`recent${i}`, ago(100)])) });

describe('devices prune --stale: an age, read as send --max-age reads it', () => {
  it('a bare number is days: --stale 90 keeps a device seen 100 seconds ago and drops one seen 100 days ago', async () => {
    const { cli, tokens } = await registryWith(tenSeenRecently());
    const pruned = await cli('devices', 'prune', '--stale', '90');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/^pruned 0 invalid devices and 1 not seen since \d{4}-\d\d-\d\d\n$/);
    expect(await tokens()).toEqual(Array.from({ length: 9 }, (_, i) => fcmToken(`recent${i}`)).sort());
  });

  it('90d, 12w and 36h keep their units; a unit typo, a negative or a fraction is refused naming the forms, and nothing goes', async () => {
    const { cli, tokens } = await registryWith({ ...tenSeenRecently(), twoDays: ago(2 * days) });
    for (const [age, stale] of [
      ['90d', 1],
      ['12w', 1],
      ['36h', 2],
      ['90D', 1],
    ] as const) {
      const dryRun = JSON.parse((await cli('devices', 'prune', '--stale', age, '--dry-run', '--json')).stdout);
      expect(dryRun.byReason, age).toEqual({ invalid: 0, stale });
    }
    const all = await tokens();
    for (const age of ['90x', '-5', '1.5', '0', '999999999']) {
      const refused = await cli('devices', 'prune', '--stale', age);
      expect(refused.code, age).toBe(1);
      expect(refused.stderr).toBe(
        `pushcast: --stale takes an age in whole days (90 or 90d), or in weeks, hours, minutes or seconds with their unit (12w, 36h, 45m, 30s), up to 100 years, more than 0, not "${age}"\n`,
      );
    }
    expect(await tokens()).toEqual(all);
  });

  it('send --max-age reads the same ages: 90 and 12w skip the device seen 100 days ago, 36h the one seen 2 days ago too', async () => {
    const emulator: Emulator = await startEmulator();
    try {
      const { dir, cli } = await registryWith({ ...tenSeenRecently(), twoDays: ago(2 * days) });
      const config = writeEmulatorConfig(emulator, {}, dir);
      const message = tempFile('m.json', JSON.stringify({ title: 'Hi', body: 'News' }));
      for (const [age, stale] of [
        ['90', 1],
        ['12w', 1],
        ['36h', 2],
      ] as const) {
        const plan = await cli('send', '-c', config, '--channel', '*', '-m', message, '-n', '--json', '--max-age', age);
        expect(plan.code, plan.stderr).toBe(0);
        expect(JSON.parse(plan.stdout), age).toMatchObject({ recipients: { fcm: 11 - stale }, skipped: { stale } });
      }
      const typo = await cli('send', '-c', config, '--channel', '*', '-m', message, '-n', '--max-age', '90x');
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain(
        '--max-age takes an age in whole days (90 or 90d), or in weeks, hours, minutes or seconds with their unit (12w, 36h, 45m, 30s), up to 100 years, or 0',
      );
    } finally {
      await emulator.close();
    }
  });
});

describe('devices prune --dry-run', () => {
  it('counts by reason and lists the devices, tokens masked, and deletes nothing', async () => {
    const { dir, cli, tokens } = await registryWith({ old: ago(100 * days), dead: ago(100), fresh: ago(100) });
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    await registry.markInvalid([{ provider: 'fcm', token: fcmToken('dead'), reason: 'unregistered' }]);
    await registry.close();
    const before = await tokens();

    const text = await cli('devices', 'prune', '--stale', '90d', '--dry-run');
    expect(text.code, text.stderr).toBe(0);
    const [summary, ...listed] = text.stdout.trim().split('\n');
    expect(summary).toMatch(/^would prune 2 of 3 devices \(66\.7%\): 1 invalid, 1 not seen since \d{4}-\d\d-\d\d \(stale\); nothing deleted \(--dry-run\)$/);
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatch(new RegExp(`^  fcm +${fcmToken('old').slice(0, 6)}…${fcmToken('old').slice(-4)} +old +stale +last seen ${ago(100 * days).slice(0, 10)}$`));
    expect(listed[1]).toMatch(new RegExp(`^  fcm +${fcmToken('dead').slice(0, 6)}…${fcmToken('dead').slice(-4)} +dead +invalid \\(unregistered\\) +last seen \\d{4}-`));
    expect(text.stdout).not.toContain(fcmToken('old'));

    const json = JSON.parse((await cli('devices', 'prune', '--stale', '90d', '--dry-run', '--json')).stdout);
    expect(json).toMatchObject({ dryRun: true, wouldDelete: 2, of: 3, byReason: { invalid: 1, stale: 1 } });
    expect(json.devices).toEqual([
      expect.objectContaining({ provider: 'fcm', token: `${fcmToken('old').slice(0, 6)}…${fcmToken('old').slice(-4)}`, userId: 'old', reason: 'stale' }),
      expect.objectContaining({ userId: 'dead', reason: 'invalid', invalidReason: 'unregistered' }),
    ]);
    expect(await tokens()).toEqual(before);
  });
});

describe('a prune of more than a tenth of the registry', () => {
  const registryOfThree = () => registryWith({ old: ago(100 * days), older: ago(200 * days), fresh: ago(100) });

  it('off a terminal (a script, cron) is refused with exit 1 and nothing deleted; --yes deletes', async () => {
    const { cli, tokens } = await registryOfThree();
    const refused = await cli('devices', 'prune', '--stale', '90d');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^pushcast: prune would delete 2 of 3 devices \(66\.7%\): .*more than a tenth of the registry: nothing was deleted; .*pass --yes to delete them\n$/,
    );
    expect(await tokens()).toHaveLength(3);

    const confirmed = await cli('devices', 'prune', '--stale', '90d', '--yes', '--json');
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(JSON.parse(confirmed.stdout)).toMatchObject({ deleted: 2, of: 3, byReason: { invalid: 0, stale: 2 } });
    expect(await tokens()).toEqual([fcmToken('fresh')]);
  });

  it('at a terminal asks first: "n" deletes nothing and exits 1, "y" deletes', async () => {
    const { dir, tokens } = await registryOfThree();
    const question = /delete 2 of 3 devices \(66\.7%\)\? \[y\/N\] $/;

    const no = openTerminal(120, ['devices', 'prune', '--stale', '90d'], dir);
    await waitFor(() => question.test(no.output()), 'the question');
    no.type('n');
    expect(await no.exited).toBe(1);
    expect(no.output()).toContain('nothing was deleted (the answer was not yes)');
    expect(await tokens()).toHaveLength(3);

    const yes = openTerminal(120, ['devices', 'prune', '--stale', '90d'], dir);
    await waitFor(() => question.test(yes.output()), 'the question');
    yes.type('y');
    expect(await yes.exited).toBe(0);
    expect(yes.output()).toMatch(/pruned 0 invalid devices and 2 not seen since/);
    expect(await tokens()).toEqual([fcmToken('fresh')]);
  });
});

describe('devices list and stats', () => {
  it('show a logged-out device and a deleted account as unregistered, with the reason, and count valid, invalid, unregistered and stale apart', async () => {
    const { dir, cli } = await registryWith({ phone: ago(100), tablet: ago(100), old: ago(100 * days), dead: ago(100), u9: ago(100) });
    expect((await cli('devices', 'unregister', '--provider', 'fcm', '--token', fcmToken('phone'))).code).toBe(0);
    expect((await cli('devices', 'unregister', '--user', 'tablet')).code).toBe(0);
    const registry = SqliteRegistry.open(join(dir, 'pushcast.db'));
    await registry.markInvalid([{ provider: 'fcm', token: fcmToken('dead'), reason: 'unregistered' }]);
    await registry.close();
    const today = new Date().toISOString().slice(0, 10);

    const list = await cli('devices', 'list');
    expect(list.code, list.stderr).toBe(0);
    const stateOf = (user: string) => new RegExp(`^fcm +\\S+ +${user} +(.*)$`, 'm').exec(list.stdout)?.[1];
    expect(stateOf('phone')).toBe(`unregistered (logout, ${today})`);
    expect(stateOf('tablet')).toBe(`unregistered (account-deleted, ${today})`);
    expect(stateOf('old')).toBe(`stale (last seen ${ago(100 * days).slice(0, 10)})`);
    expect(stateOf('dead')).toBe('invalid (unregistered)');
    expect(stateOf('u9')).toBe('valid');
    const listed = JSON.parse((await cli('devices', 'list', '--json')).stdout) as Array<{ userId: string; state: string }>;
    expect(Object.fromEntries(listed.map((device) => [device.userId, device.state]))).toEqual({
      phone: 'unregistered',
      tablet: 'unregistered',
      old: 'stale',
      dead: 'invalid',
      u9: 'valid',
    });

    const stats = await cli('devices', 'stats');
    expect(stats.stdout).toContain('5 devices of 5 users in ');
    expect(stats.stdout).toContain(': 1 valid, 1 invalid, 2 unregistered, 1 stale (not seen for 90 days)\n');
    expect(stats.stdout).toContain('  fcm      1 valid, 1 invalid, 2 unregistered, 1 stale\n');
    expect(stats.stdout).toContain('  unregistered by reason: account-deleted 1, logout 1\n');
    expect(JSON.parse((await cli('devices', 'stats', '--json')).stdout)).toMatchObject({
      devices: 5,
      valid: 1,
      invalid: 1,
      unregistered: 2,
      stale: 1,
      byProvider: { fcm: { valid: 1, invalid: 1, unregistered: 2, stale: 1 } },
      invalidByReason: { unregistered: 1 },
      unregisteredByReason: { logout: 1, 'account-deleted': 1 },
    });
    // A send tries exactly the devices counted valid (and with --max-age 0, the stale one too).
    expect(JSON.parse((await cli('devices', 'stats', '--json', '--max-age', '0')).stdout)).toMatchObject({ valid: 2, stale: 0 });
  });
});

describe('devices register and the group help', () => {
  it('register --provider offers the choices send -p does', async () => {
    const { cli } = await registryWith({});
    const wrong = await cli('devices', 'register', '--user', 'u1', '--provider', 'gcm', '--token', fcmToken('u1'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("option '--provider <name>' argument 'gcm' is invalid. Allowed choices are fcm, apns, webpush.");
  });

  it("devices --help shows examples of the registry's life: import, register, logout, list, stats, a dry run and a prune", async () => {
    const help = await runCli(['devices', '--help']);
    expect(help.code).toBe(0);
    const examples = help.stdout.slice(help.stdout.indexOf('Examples:'));
    for (const example of [
      'pushcast devices import devices.csv',
      '--replaces "$OLD"',
      'pushcast devices unregister --provider fcm --token "$TOKEN"   # logout',
      'pushcast devices list',
      'pushcast devices stats',
      'pushcast devices prune --stale 90d --dry-run',
      'pushcast devices prune --stale 90d --yes',
    ])
      expect(examples).toContain(example);
  });
});
