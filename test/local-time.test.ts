import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { wallClock } from '../src/domain/zoned-time.js';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { fcmToken, tempDir, tempFile } from './helpers/tokens.js';

/**
 * Local-time delivery through the built CLI against the emulator, with the clock moved by the
 * documented test seam (PUSHCAST_TEST_NOW) instead of waiting: an hourly cron over a simulated
 * day, and a long-running --wait, killed and run again.
 */
const message = tempFile('m.json', JSON.stringify({ title: 'Good morning', body: 'Local time', ttl: 3600 }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'local-time' });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** Zones from +13:45 to −08:00, with and without DST, and the odd offsets +03:30, +05:30, +05:45. */
const zones = [
  'Asia/Tehran',
  'Asia/Kathmandu',
  'Asia/Kolkata',
  'Europe/Moscow',
  'Europe/Berlin',
  'America/New_York',
  'America/Los_Angeles',
  'UTC',
  'Australia/Sydney',
  'Pacific/Chatham',
  'Asia/Tokyo',
];

describe('an hourly cron over a simulated day', () => {
  it('sends each recipient once, in its local hour, never in quiet hours; the too-late ones are skipped and reported', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const rows = ['token,provider,timezone'];
    const zoneOf = new Map<string, string>();
    zones.forEach((zone, z) => {
      for (let i = 0; i < 3; i++) {
        const token = fcmToken(`tz-${z}-${i}`);
        zoneOf.set(token, zone);
        rows.push(`${token},fcm,${zone}`);
      }
    });
    rows.push(`${fcmToken('no-zone')},fcm,`);
    const audience = tempFile('zones.csv', `${rows.join('\n')}\n`);
    // 07:00 local is inside the quiet hours: every moment moves to 08:00 local.
    const args = ['send', '--config', config, '-a', audience, '-m', message, '--at', '2026-12-01T07:00', '--local', '--quiet-hours', '22:00-08:00', '--late-limit', '2h', '--json'];

    const sentAt = new Map<string, number>(); // token → the simulated time of the run that sent it
    let record = {} as CampaignRecord;
    const first = Date.parse('2026-12-01T03:00:00Z');
    for (let hour = 0; hour < 24; hour++) {
      const now = first + hour * 3600_000;
      const before = emulator.delivered().length;
      const run = await spawnCli(args, { cwd: dir, env: { PUSHCAST_TEST_NOW: new Date(now).toISOString() } });
      expect(run.code, run.stderr).toBe(0);
      record = JSON.parse(run.stdout);
      for (const item of emulator.delivered().slice(before)) {
        expect(sentAt.has(item.token), `${item.token} sent twice`).toBe(false);
        sentAt.set(item.token, now);
      }
    }

    // Where 08:00 local had passed more than 2 h before the first run: Sydney, Chatham, Tokyo.
    const missed = new Set(['Australia/Sydney', 'Pacific/Chatham', 'Asia/Tokyo']);
    for (const [token, zone] of zoneOf) {
      if (missed.has(zone)) {
        expect(sentAt.has(token), `${zone} was too late`).toBe(false);
        continue;
      }
      expect(sentAt.has(token), `${zone} was sent`).toBe(true);
      const local = wallClock(sentAt.get(token)!, zone);
      expect(local.hour, `${zone} got it at ${local.hour}:${local.minute} local`).toBe(8); // inside its local hour, after the quiet hours
    }
    expect(record.status).toBe('done');
    expect(record.schedule).toMatchObject({ deferred: 0, missedWindow: 9, noTimezone: 1 });
    expect(record.skippedByReason).toEqual({ 'missed-window': 9, 'no-timezone': 1 });
    expect(record.counts).toMatchObject({ targeted: 24, accepted: 24 });
    expect(emulator.delivered()).toHaveLength(24);
    // How much of the day's campaign is done, from its journal.
    const report = await spawnCli(['report', record.campaign], { cwd: dir });
    expect(report.stdout).toContain('schedule: 24 of 34 handled (70.6%); 0 due later; 9 missed their window (--late-limit); 1 with no time zone');
    // The last run sent no one, and its table still lists every zone: those done by earlier runs too.
    for (const zone of zones.filter((zone) => !missed.has(zone))) {
      expect(report.stdout).toMatch(new RegExp(`^ {2}${zone.replace('/', '\\/')} +3 by earlier runs, 0 due now, 0 later, 0 missed$`, 'm'));
    }
    // One more run from cron, --quiet: its one line says who missed their window and who has no zone.
    const quiet = await spawnCli([...args.filter((arg) => arg !== '--json'), '--quiet'], { cwd: dir, env: { PUSHCAST_TEST_NOW: new Date(first + 24 * 3600_000).toISOString() } });
    expect(quiet.stdout).toMatch(/; 9 missed their window \(--late-limit\); 1 with no time zone$/m);
  }, 600_000);

  it('says when the next recipient is due, exits 0 while they wait, and refuses --no-journal', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = tempFile('one.csv', `token,provider,timezone\n${fcmToken('later')},fcm,Asia/Tehran\n`);
    const early = await spawnCli(['send', '--config', config, '-a', audience, '-m', message, '--at', '09:00', '--local', '--quiet'], {
      cwd: dir,
      env: { PUSHCAST_TEST_NOW: '2026-12-01T01:00:00Z' },
    });
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toContain('scheduled: 0 targeted');
    expect(early.stdout).toContain('1 due later, the next at 2026-12-01T05:30:00.000Z');
    expect(emulator.delivered()).toEqual([]);
    const noJournal = await spawnCli(['send', '--config', config, '-a', audience, '-m', message, '--at', '09:00', '--local', '--no-journal'], { cwd: dir });
    expect(noJournal.code).toBe(1);
    expect(noJournal.stderr).toContain('cannot run with --no-journal');
  });
});

describe('--wait', () => {
  it('stays up and sends each recipient when due; killed and run again, it sends no one twice and loses no one', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const tokens = Array.from({ length: 30 }, (_, i) => fcmToken(`wait-${i}`));
    const audience = tempFile('wait.csv', `token,provider\n${tokens.map((token) => `${token},fcm`).join('\n')}\n`);
    const args = ['send', '--config', config, '-a', audience, '-m', message, '--spread', '4s', '--wait', '--json'];
    // Killed part-way through the spread…
    const killed = await spawnCli(args, { cwd: dir, timeoutMs: 1500 });
    expect(killed.code).toBe(null);
    const beforeResume = emulator.delivered().length;
    expect(beforeResume).toBeLessThan(tokens.length);
    // …and run again: it resumes from the journal and waits out the rest.
    const resumed = await spawnCli(args, { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    // The kill may catch a request in flight: that one is uncertain (maybe delivered), never resent.
    const record = JSON.parse(resumed.stdout) as CampaignRecord;
    expect(record).toMatchObject({ status: 'done', counts: { targeted: 30 } });
    expect(record.counts.accepted + record.counts.uncertain).toBe(30);
    const delivered = emulator.delivered().map((item) => item.token);
    expect(new Set(delivered).size).toBe(delivered.length); // no one twice
    expect(tokens.filter((token) => !delivered.includes(token)).length).toBeLessThanOrEqual(record.counts.uncertain); // no one lost
  }, 60_000);
});
