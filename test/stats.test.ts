import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceFile, mixedAudienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/**
 * `pushcast stats`: a campaign's report beside FCM's delivery data for its analytics label, read
 * from the emulator's FCM Data API (the v1beta1 deliveryData list, paged one entry at a time here).
 */

const outcomes = { delivered: 90, pending: 6, collapsed: 2, droppedDeviceInactive: 2 };
const message = tempFile('stats.json', JSON.stringify({ title: 'Hi', body: 'News' }));
let emulator: Emulator;
let dir: string;
let config: string;
let weekly: { providers: { fcm: { accepted: number; targeted: number } } };
/** The A/B campaign's FCM messages the emulator accepted, by variant (their titles name them). */
let acceptedByVariant: Record<string, number>;
/** The day FCM counts the sends in (read before they go; a run across Los Angeles midnight would straddle two). */
let today: string;

beforeAll(async () => {
  emulator = await startEmulator({ seed: 'stats', unregistered: 0.15, deliveryOutcomes: outcomes, dataPageSize: 1 });
  dir = tempDir();
  config = writeEmulatorConfig(emulator, {}, dir);
  today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles' }).format(new Date());
  const send = async (campaign: string, count: number, ...flags: string[]) => {
    const { code, stdout, stderr } = await runCli(
      ['send', '--config', config, '-a', audienceFile('fcm', count, campaign), '-m', message, '--campaign', campaign, '--json', ...flags],
      { cwd: dir },
    );
    expect(code, stderr).toBe(0);
    return JSON.parse(stdout);
  };
  weekly = await send('weekly', 40);
  await send('other', 5);
  await send('unlabelled', 3, '--no-label');
  await send('died', 4);
  // An A/B campaign over FCM, APNs and web push: each variant's FCM messages carry ab.NAME.
  const before = emulator.delivered().length;
  writeFileSync(join(dir, 'short.json'), JSON.stringify({ title: 'short', body: 'Sale' }));
  writeFileSync(join(dir, 'long.json'), JSON.stringify({ title: 'long', body: 'Our winter sale starts today' }));
  const ab = await runCli(['send', '--config', config, '-a', mixedAudienceFile(90, 'abx'), '--variant', 'short.json', '--variant', 'long.json', '--campaign', 'ab', '--quiet'], {
    cwd: dir,
  });
  expect(ab.code, ab.stderr).toBe(0);
  acceptedByVariant = { short: 0, long: 0 };
  for (const item of emulator.delivered().slice(before)) {
    if (item.provider === 'fcm') acceptedByVariant[(item.message as { notification: { title: string } }).notification.title]++;
  }
  // As if its run had been killed: the journal keeps no end record.
  const journal = join(dir, '.pushcast', 'died.jsonl');
  const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
  expect(JSON.parse(lines.at(-1)!).t).toBe('end');
  writeFileSync(journal, `${lines.slice(0, -1).join('\n')}\n`);
});
afterAll(() => emulator.close());

describe('pushcast stats', () => {
  it("joins the campaign's report to FCM's delivery data for its label and days, page after page, and nothing of other labels", async () => {
    const { code, stdout, stderr } = await runCli(['stats', 'weekly', '--config', config, '--json'], { cwd: dir });
    expect(code, stderr).toBe(0);
    const stats = JSON.parse(stdout);
    expect(stats).toMatchObject({ campaign: 'weekly', analyticsLabel: 'weekly', notYet: [] });
    expect(stats.days).toContain(today);
    expect(stats.pushcast).toEqual({ fcmTargeted: 40, fcmAccepted: weekly.providers.fcm.accepted });
    // The emulator's Data API counts what it accepted under the label: the report's accepted.
    expect(weekly.providers.fcm.accepted).toBeLessThan(40);
    expect(stats.fcm.days).toEqual([{ date: today, analyticsLabel: 'weekly', countMessagesAccepted: weekly.providers.fcm.accepted, messageOutcomePercents: outcomes }]);
    expect(stats.fcm.total).toEqual({ countMessagesAccepted: weekly.providers.fcm.accepted, messageOutcomePercents: outcomes });

    const text = await runCli(['stats', 'weekly', '--config', config], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`pushcast: ${weekly.providers.fcm.accepted} of 40 FCM messages accepted by FCM (every platform)`);
    expect(text.stdout).toContain(`${today}  accepted ${weekly.providers.fcm.accepted}: delivered 90%, pending 6%, collapsed 2%, dropped device inactive 2%`);
    expect(text.stdout).toContain('Android devices whose users share usage statistics');
    // The campaign's page, with FCM's data in it.
    const page = await runCli(['stats', 'weekly', '--config', config, '--html', 'weekly.html'], { cwd: dir });
    expect(page.code, page.stderr).toBe(0);
    const html = readFileSync(join(dir, 'weekly.html'), 'utf8');
    const section = /<section id="fcm-delivery">[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
    expect(section).toContain("FCM's delivery data (label weekly)");
    expect(section).toContain(
      `<tr><th>${today}</th><td data-kind="accepted">${weekly.providers.fcm.accepted}</td><td data-kind="delivered">90%</td><td data-kind="pending">6%</td>`,
    );
    expect(html).toContain('<section id="outcomes">');
    for (const output of [stdout, text.stdout, text.stderr, html]) {
      expect(output).not.toContain('PRIVATE KEY');
      expect(output).not.toContain('ya29.');
    }
  });

  it("gives an A/B campaign's figures variant by variant, each of its own label, beside the FCM messages pushcast sent of it", async () => {
    const { code, stdout, stderr } = await runCli(['stats', 'ab', '--config', config, '--json'], { cwd: dir });
    expect(code, stderr).toBe(0);
    const stats = JSON.parse(stdout);
    expect(acceptedByVariant.short).toBeGreaterThan(0);
    expect(acceptedByVariant.long).toBeGreaterThan(0);
    expect(stats.variants.map((variant: { name: string; analyticsLabel: string }) => [variant.name, variant.analyticsLabel])).toEqual([
      ['short', 'ab.short'],
      ['long', 'ab.long'],
    ]);
    for (const variant of stats.variants) {
      // pushcast's side: the variant's FCM messages only (the audience is a third FCM), every one accepted.
      expect(variant.pushcast.fcmAccepted).toBe(acceptedByVariant[variant.name]);
      expect(variant.fcm.days).toEqual([
        { date: today, analyticsLabel: `ab.${variant.name}`, countMessagesAccepted: acceptedByVariant[variant.name], messageOutcomePercents: outcomes },
      ]);
    }
    expect(stats.fcm.total.countMessagesAccepted).toBe(acceptedByVariant.short + acceptedByVariant.long);

    const text = await runCli(['stats', 'ab', '--config', config, '--html', 'ab.html'], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    // Each variant's figures under its own heading, in text and on the page.
    const targeted = (name: string) => stats.variants.find((variant: { name: string }) => variant.name === name).pushcast.fcmTargeted as number;
    for (const name of ['short', 'long']) {
      expect(text.stdout).toContain(
        `Variant ${name}: FCM analytics label ab.${name}\n  pushcast: ${acceptedByVariant[name]} of ${targeted(name)} FCM messages accepted by FCM (every platform)\n  FCM's delivery data (Android):\n    ${today}  accepted ${acceptedByVariant[name]}: delivered 90%`,
      );
    }
    const page = readFileSync(join(dir, 'ab.html'), 'utf8');
    for (const name of ['short', 'long']) {
      expect(page).toMatch(
        new RegExp(
          `Variant ${name} \\(label ab\\.${name}\\)</h3>\\n<p>pushcast: ${acceptedByVariant[name]} of ${targeted(name)} FCM [^<]*</p>\\n<table>(?:(?!</table>)[\\s\\S])*?<tr><th>${today}</th><td data-kind="accepted">${acceptedByVariant[name]}</td>`,
        ),
      );
    }
  });

  it('reads the label of a campaign whose run died from its journal', async () => {
    const { code, stdout, stderr } = await runCli(['stats', 'died', '--config', config, '--json'], { cwd: dir });
    expect(code, stderr).toBe(0);
    const stats = JSON.parse(stdout);
    expect(stats).toMatchObject({ campaign: 'died', analyticsLabel: 'died' });
    expect(stats.fcm.days.map((entry: { analyticsLabel: string }) => entry.analyticsLabel)).toEqual(['died']);
  });

  it('says why it has nothing to ask for a campaign whose FCM messages carried no label', async () => {
    const { code, stderr } = await runCli(['stats', 'unlabelled', '--config', config], { cwd: dir });
    expect(code).toBe(1);
    expect(stderr).toContain("campaign unlabelled's FCM messages carried no analytics label (sent with --no-label");
  });

  it('names the setting to fix when the Android app id is missing or unknown to the project', async () => {
    const settings = JSON.parse(readFileSync(config, 'utf8'));
    const without = tempFile('no-app.json', JSON.stringify({ ...settings, fcm: { ...settings.fcm, androidAppId: undefined } }));
    const missing = await runCli(['stats', 'weekly', '--config', without], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("FCM's delivery data is kept per Android app: set fcm.androidAppId");

    const unknown = tempFile('other-app.json', JSON.stringify({ ...settings, fcm: { ...settings.fcm, androidAppId: '1:111111111111:android:abcdef' } }));
    const refused = await runCli(['stats', 'weekly', '--config', unknown], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the FCM Data API knows no Android app 1:111111111111:android:abcdef in project');
    expect(refused.stderr).toContain('NOT_FOUND Requested entity was not found.: check fcm.androidAppId');

    writeFileSync(unknown, JSON.stringify({ ...settings, fcm: { ...settings.fcm, androidAppId: 'com.example.app' } }));
    const malformed = await runCli(['stats', 'weekly', '--config', unknown], { cwd: dir });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('fcm.androidAppId must be a Firebase Android app id (1:1234567890:android:0a1b2c3d4e5f6789');
  });
});
