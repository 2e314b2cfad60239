import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { apnsToken, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

/**
 * A smoke test with the campaign's own message: `--token` (repeatable) with `--message`, the
 * template filled from `--data` or from one row of the audience (`--test-line`). The emulator's
 * deliveries are the truth: the rendered template must be on the wire.
 */
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'test-send' });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const sale = tempFile(
  'sale.json',
  JSON.stringify({
    title: 'Autumn sale, {{default name "friend"}}!',
    body: 'Use code {{coupon}} for 20% off',
    data: { coupon: '{{coupon}}' },
    locales: { fa: { title: 'حراج پاییزه، {{default name "دوست"}}!' } },
  }),
);
const audience = tempFile(
  'users.csv',
  ['provider,token,name,coupon,locale', `fcm,${fcmToken('row2')},Bo,BO-2,en`, `fcm,${fcmToken('row3')},Sara,SA-3,fa`, `fcm,${fcmToken('row4')},Ana,,en`].join('\n'),
);
/** What the emulator delivered, as the device shows it. */
const shown = () =>
  emulator.delivered().map((item) => {
    const message = item.message as { notification?: { title?: string; body?: string }; data?: Record<string, string>; aps?: { alert?: { title?: string; body?: string } } };
    return { token: item.token, title: message.notification?.title ?? message.aps?.alert?.title, body: message.notification?.body ?? message.aps?.alert?.body, data: message.data };
  });

describe('a smoke test of the campaign message', () => {
  it('--token (twice) with --message and --data puts the rendered template on the wire, to those devices only', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const result = await runCli(['send', '--config', config, '-p', 'fcm', '-t', fcmToken('mine'), '-t', fcmToken('yours'), '-m', sale, '--data', 'name=Ana', 'coupon=AN-1'], {
      cwd: dir,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(shown().sort((a, b) => a.token.localeCompare(b.token))).toEqual(
      [fcmToken('mine'), fcmToken('yours')]
        .sort((a, b) => a.localeCompare(b))
        .map((token) => ({ token, title: 'Autumn sale, Ana!', body: 'Use code AN-1 for 20% off', data: expect.objectContaining({ coupon: 'AN-1' }) })),
    );
    expect(result.stdout).toMatch(/a smoke test \(--token\) of .*sale\.json: sent to the given devices only/);
  });

  it('--test-line fills it with that row of the audience, its locale included, and sends it to --token, not to the row', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const result = await runCli(['send', '--config', config, '-p', 'apns', '-t', apnsToken('phone'), '-m', sale, '-a', audience, '--test-line', '3'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(shown()).toEqual([{ token: apnsToken('phone'), title: 'حراج پاییزه، Sara!', body: 'Use code SA-3 for 20% off', data: undefined }]);
  });

  it('says what is wrong with a test line: none there, a row that would not be sent, or --audience without one', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const args = ['send', '--config', config, '-p', 'fcm', '-t', fcmToken('phone'), '-m', sale, '-a', audience];
    const missing = await runCli([...args, '--test-line', '9'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--test-line 9: .*users\.csv has no row that starts at line 9/);
    const header = await runCli([...args, '--test-line', '1'], { cwd: dir });
    expect(header.stderr).toContain('--test-line is the line of a row of --audience (2 or more: line 1 is the header)');
    const noLine = await runCli(args, { cwd: dir });
    expect(noLine.code).toBe(1);
    expect(noLine.stderr).toContain('to fill the template with a row of');
    // Line 4 has no coupon: rendered for the test device, it is the row's missing-variable, not a push.
    const empty = await runCli([...args, '--test-line', '4', '--json'], { cwd: dir });
    expect(JSON.parse(empty.stdout).skippedByReason).toEqual({ 'missing-variable': 1 });
    expect(emulator.delivered()).toEqual([]);
  });

  it('with --title and --body, --data is the message data and placeholders are sent as written, as before', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const result = await runCli(['send', '--config', config, '-p', 'fcm', '-t', fcmToken('plain'), '--title', 'Release {{4.2}}', '--body', 'Smoke', '--data', 'build=42'], {
      cwd: dir,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(shown()).toEqual([{ token: fcmToken('plain'), title: 'Release {{4.2}}', body: 'Smoke', data: { build: '42' } }]);
    const both = await runCli(['send', '--config', config, '-p', 'fcm', '-t', fcmToken('plain'), '--title', 'x', '-m', sale], { cwd: dir });
    expect(both.stderr).toContain('give --message, or --title and --body, not both');
  });
});
