import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { apnsToken, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

/**
 * One campaign, one message, one history: a campaign is recognised when run again whatever its
 * audience (a file, a channel), a changed message is never sent as if it were the same campaign,
 * and the record keeps every run. Through the CLI against the emulator, whose deliveries are the truth.
 */
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'identity' });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const json = (stdout: string) => JSON.parse(stdout) as CampaignRecord;
/** What the emulator delivered to each token: the body the device shows (FCM and APNs). */
function bodies(): Map<string, string[]> {
  const byToken = new Map<string, string[]>();
  for (const item of emulator.delivered()) {
    const message = item.message as { notification?: { body?: string }; aps?: { alert?: { body?: string } } };
    const body = message.notification?.body ?? message.aps?.alert?.body ?? '';
    byToken.set(item.token, [...(byToken.get(item.token) ?? []), body]);
  }
  return byToken;
}

describe('a campaign run again with another message', () => {
  const rows = [
    'provider,token,name',
    ...Array.from({ length: 10 }, (_, i) => `fcm,${fcmToken(`s${i}`)},F${i}`),
    ...Array.from({ length: 10 }, (_, i) => `apns,${apnsToken(`s${i}`)},A${i}`),
  ];
  const audience = tempFile('spring.csv', `${rows.join('\n')}\n`);
  const spring = tempFile('spring.json', JSON.stringify({ title: 'Spring {{name}}', body: 'with a typo' }));
  const spring2 = tempFile('spring2.json', JSON.stringify({ title: 'Spring {{name}}', body: 'corrected' }));

  it('stops before sending, naming both messages and the two ways on; --change-message sends the new text to those not reached, and the history says so', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    // The first run reaches only the FCM half: APNs has no credentials yet.
    const fcmOnly = writeEmulatorConfig(emulator, { apns: { key: undefined, keyId: undefined, teamId: undefined } }, tempDir());
    const first = await runCli(['send', '--config', fcmOnly, '-a', audience, '-m', spring, '--campaign', 'spring', '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout).counts).toMatchObject({ accepted: 10, skipped: 10 });

    const edited = await runCli(['send', '--config', config, '-a', audience, '-m', spring2, '--campaign', 'spring', '--json'], { cwd: dir });
    expect(edited.code).toBe(1);
    expect(edited.stderr.trim().split('\n')).toHaveLength(1);
    expect(edited.stderr).toMatch(
      /campaign spring was sent with .*spring\.json \(sha256 [0-9a-f]{12}\) and this run's message is .*spring2\.json \(sha256 [0-9a-f]{12}\), so nothing was sent/,
    );
    expect(edited.stderr).toContain('give a new --campaign name');
    expect(edited.stderr).toContain('add --change-message');
    expect(emulator.stats().accepted.apns).toBe(0);

    const changed = await runCli(['send', '--config', config, '-a', audience, '-m', spring2, '--campaign', 'spring', '--change-message', '--json'], { cwd: dir });
    expect(changed.code, changed.stderr).toBe(0);
    const record = json(changed.stdout);
    expect(record.counts).toMatchObject({ targeted: 20, accepted: 20, skipped: 0 });
    // Each device got one push: the FCM half the first text, the APNs half the corrected one.
    const got = bodies();
    expect([...got.values()].every((list) => list.length === 1)).toBe(true);
    for (let i = 0; i < 10; i++) {
      expect(got.get(fcmToken(`s${i}`))).toEqual(['with a typo']);
      expect(got.get(apnsToken(`s${i}`))).toEqual(['corrected']);
    }
    expect(record.message?.file).toMatch(/spring2\.json$/);
    expect(record.messages).toEqual([
      expect.objectContaining({ file: expect.stringMatching(/spring\.json$/), fromRun: 1, sends: 10 }),
      expect.objectContaining({ file: expect.stringMatching(/spring2\.json$/), fromRun: 2, sends: 10 }),
    ]);
    expect(record.runs?.map((run) => run.changedMessage ?? false)).toEqual([false, true]);

    // The campaign's message is now the corrected one: the first text is what is refused now.
    const back = await runCli(['send', '--config', config, '-a', audience, '-m', spring, '--campaign', 'spring'], { cwd: dir });
    expect(back.code).toBe(1);
    expect(back.stderr).toMatch(/was sent with .*spring2\.json .* this run's message is .*spring\.json/);
    // Run again as it is, it sends nothing; the record names the message the recipients got.
    const again = await runCli(['send', '--config', config, '-a', audience, '-m', spring2, '--campaign', 'spring', '--change-message', '--json'], { cwd: dir });
    expect(json(again.stdout).sends).toBe(0);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('a run that sends nothing does not name its new message as the one the recipients got', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    expect((await runCli(['send', '--config', config, '-a', audience, '-m', spring, '--campaign', 'done'], { cwd: dir })).code).toBe(0);
    const late = await runCli(['send', '--config', config, '-a', audience, '-m', spring2, '--campaign', 'done', '--change-message', '--json'], { cwd: dir });
    const record = json(late.stdout);
    expect(record.sends).toBe(0);
    expect(record.message?.file).toMatch(/spring\.json$/);
    expect(record.messages?.map((message) => message.sends)).toEqual([20, 0]);
    expect(emulator.stats().accepted.fcm + emulator.stats().accepted.apns).toBe(20);
  });
});

describe('every audience has a campaign id and a journal', () => {
  it('a channel send run twice delivers once, and pushcast report finds it by its id', async () => {
    const dir = tempDir();
    const csv = [
      'provider,token,user_id,channels',
      `fcm,${fcmToken('c1')},u1,news`,
      `fcm,${fcmToken('c2')},u2,news;sales`,
      `apns,${apnsToken('c3')},u3,news`,
      `fcm,${fcmToken('c4')},u4,sales`,
    ];
    expect((await runCli(['devices', 'import', tempFile('devices.csv', csv.join('\n'))], { cwd: dir })).code).toBe(0);
    const config = writeEmulatorConfig(emulator, {}, dir);
    const breaking = tempFile('breaking.json', JSON.stringify({ title: 'Breaking', body: 'News' }));
    const first = await runCli(['send', '--config', config, '--channel', 'news', '-m', breaking, '--json'], { cwd: dir });
    const second = await runCli(['send', '--config', config, '--channel', 'news', '-m', breaking, '--json'], { cwd: dir });
    expect([first.code, second.code]).toEqual([0, 0]);
    const [one, two] = [json(first.stdout), json(second.stdout)];
    expect(one.campaign).toMatch(/^c-[0-9a-f]{16}$/);
    expect(two.campaign).toBe(one.campaign);
    expect(one.counts.accepted).toBe(3);
    expect(two.counts.accepted).toBe(3); // carried over
    expect(two.sends).toBe(0);
    expect(
      emulator
        .delivered()
        .map((item) => item.token)
        .sort(),
    ).toEqual([fcmToken('c1'), fcmToken('c2'), apnsToken('c3')].sort());
    const report = await runCli(['report', one.campaign, '--json'], { cwd: dir });
    expect(report.code, report.stderr).toBe(0);
    expect(json(report.stdout).runs).toHaveLength(2);

    // Another channel, or another message to the same channel, is another campaign.
    const sales = json((await runCli(['send', '--config', config, '--channel', 'sales', '-m', breaking, '--json'], { cwd: dir })).stdout);
    const update = tempFile('update.json', JSON.stringify({ title: 'Update', body: 'More news' }));
    const later = json((await runCli(['send', '--config', config, '--channel', 'news', '-m', update, '--json'], { cwd: dir })).stdout);
    expect(new Set([one.campaign, sales.campaign, later.campaign]).size).toBe(3);
    expect(later.sends).toBe(3);
  });

  it('a user-ID audience in two channels is two campaigns; in one channel, run twice, it is one', async () => {
    const dir = tempDir();
    const csv = ['provider,token,user_id,channels', `fcm,${fcmToken('u1a')},u1,news`, `fcm,${fcmToken('u1b')},u1,sales`, `fcm,${fcmToken('u2a')},u2,news`];
    expect((await runCli(['devices', 'import', tempFile('devices.csv', csv.join('\n'))], { cwd: dir })).code).toBe(0);
    const config = writeEmulatorConfig(emulator, {}, dir);
    const users = tempFile('users.csv', 'user_id\nu1\nu2\n');
    const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{user_id}}', body: 'x' }));
    const send = async (channel: string) => json((await runCli(['send', '--config', config, '-a', users, '-m', message, '--channel', channel, '--json'], { cwd: dir })).stdout);
    const news = await send('news');
    const sales = await send('sales');
    const newsAgain = await send('news');
    expect(sales.campaign).not.toBe(news.campaign);
    expect(newsAgain.campaign).toBe(news.campaign);
    expect([news.sends, sales.sends, newsAgain.sends]).toEqual([2, 1, 0]);
    expect(emulator.stats().duplicates).toBe(0);
  });

  it('a --token smoke test keeps no journal and says so; standard input without --campaign says a re-run sends again', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const smoke = await runCli(['send', '--config', config, '-p', 'fcm', '-t', fcmToken('smoke'), '--title', 'Release', '--body', 'Smoke test'], { cwd: dir });
    expect(smoke.code, smoke.stderr).toBe(0);
    expect(smoke.stdout).toContain('a smoke test (--token): sent to the given devices only, it keeps no journal, so running it again sends again');
    const quiet = await runCli(['send', '--config', config, '-p', 'fcm', '-t', fcmToken('smoke'), '--title', 'Release', '--body', 'Smoke test', '--quiet'], { cwd: dir });
    expect(quiet.stdout).toContain('(a smoke test: running it again sends again)');
    const message = tempFile('m.json', JSON.stringify({ title: 'Hi', body: 'x' }));
    const piped = await runCli(['send', '--config', config, '-a', '-', '-m', message], { cwd: dir, stdin: `provider,token\nfcm,${fcmToken('piped')}\n` });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toContain('standard input has no campaign id of its own, so this run kept no journal');
    expect(emulator.stats().accepted.fcm).toBe(3);
  });
});

describe("a campaign's history", () => {
  it('keeps every run: a re-run that sends nothing leaves the first run, its sends and its time in the record, the report and the page', async () => {
    const slow = await startEmulator({ seed: 'history', latencyMs: 50 });
    try {
      const dir = tempDir();
      const config = writeEmulatorConfig(slow, {}, dir);
      const rows = ['provider,token', ...Array.from({ length: 300 }, (_, i) => `fcm,${fcmToken(`h${i}`)}`)];
      const audience = tempFile('history.csv', `${rows.join('\n')}\n`);
      const message = tempFile('m.json', JSON.stringify({ title: 'Hi', body: 'history' }));
      const args = ['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'history', '--concurrency', '50', '--json'];
      const first = json((await runCli(args, { cwd: dir })).stdout);
      const rerun = await runCli([...args, '--invalid-out', 'prune.csv', '--html', 'rerun.html'], { cwd: dir });
      expect(rerun.code, rerun.stderr).toBe(0);
      const second = json(rerun.stdout);
      expect(second.sends).toBe(0);
      expect(second.runs).toHaveLength(2);
      expect(second.runs![0]).toMatchObject({ sends: 300, status: 'done', exitCode: 0, startedAt: first.startedAt });
      expect(second.runs![0].seconds).toBeCloseTo(first.durationSeconds, 1);
      expect(second.runs![0].timeline?.sends.reduce((sum, n) => sum + n, 0)).toBe(300);
      expect(second.runs![1]).toMatchObject({ sends: 0, status: 'done', exitCode: 0 });
      expect(second.overall).toMatchObject({ runs: 2, sends: 300, startedAt: first.startedAt });
      expect(second.overall!.seconds).toBeGreaterThanOrEqual(second.runs![0].seconds);

      const report = await runCli(['report', 'history', '--json', '--html', 'report.html'], { cwd: dir });
      expect(json(report.stdout).runs).toEqual(second.runs);
      const text = await runCli(['report', 'history'], { cwd: dir });
      expect(text.stdout).toMatch(/campaign history: done over 2 runs: \d+\.\d s sending, 300 sends/);
      expect(text.stdout).toMatch(/^ +1 +\d{4}-\d\d-\d\d \d\d:\d\d +\d+\.\d s +300 +0 +0 +done, exit 0$/m);
      expect(text.stdout).toMatch(/^ +2 +\d{4}-\d\d-\d\d \d\d:\d\d +\d+\.\d s +0 +0 +0 +done, exit 0$/m);
      // Both pages embed the record they were drawn from, runs and all.
      for (const page of ['rerun.html', 'report.html']) {
        const html = readFileSync(join(dir, page), 'utf8');
        const embedded = JSON.parse(/<script type="application\/json" id="pushcast-record">(.*?)<\/script>/s.exec(html)![1]) as CampaignRecord;
        expect(embedded.runs, page).toEqual(second.runs);
      }
    } finally {
      await slow.close();
    }
  });
});
