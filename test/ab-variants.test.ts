// A/B campaigns (`send --variant a.json --variant b.json --split --holdout`): each recipient drawn
// by a stable hash of the campaign and the recipient, through the CLI against the emulator. What
// the emulator received says which variant each device got, and that the holdout got nothing.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CampaignRecord } from '../src/report/campaign-record.js';
import { runCli } from './helpers/run-cli.js';
import { bin, root } from './helpers/spawn-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { fcmToken, tempDir } from './helpers/tokens.js';
import { waitFor } from './helpers/wait-for.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** A folder with an audience of `count` FCM tokens, two variants whose titles name them, and the emulator's config. */
function campaignDir(count: number): { dir: string; config: string; tokens: string[] } {
  const dir = tempDir();
  const tokens = Array.from({ length: count }, (_, index) => fcmToken(`ab-${index}`));
  writeFileSync(join(dir, 'audience.csv'), ['provider,token', ...tokens.map((token) => `fcm,${token}`)].join('\n'));
  writeFileSync(join(dir, 'short.json'), JSON.stringify({ title: 'variant short', body: 'Sale' }));
  writeFileSync(join(dir, 'long.json'), JSON.stringify({ title: 'variant long', body: 'Our winter sale starts today' }));
  return { dir, config: writeEmulatorConfig(emulator, {}, dir), tokens };
}

const abArgs = ['-a', 'audience.csv', '--variant', 'short.json', '--variant', 'long.json', '--split', '60,40', '--holdout', '10%'];

/** Which variant each token got, by the title the emulator received. */
function variantsOnTheWire(): Map<string, string> {
  return new Map(emulator.delivered().map((item) => [item.token, String((item.message as { notification: { title: string } }).notification.title).replace('variant ', '')]));
}

describe('an A/B campaign', () => {
  it('splits 100,000 recipients within statistical tolerance of --split and --holdout (a dry run)', async () => {
    const { dir, config } = campaignDir(100_000);
    const plan = await runCli(['send', '--config', config, ...abArgs, '--dry-run', '--json'], { cwd: dir });
    expect(plan.code, plan.stderr).toBe(0);
    const { ab } = JSON.parse(plan.stdout) as { ab: NonNullable<CampaignRecord['ab']> };
    expect(ab.holdout.recipients).toBeTypeOf('number'); // a dry run reads every row: the holdout is counted
    const drawn = { short: ab.variants[0].counts.accepted, long: ab.variants[1].counts.accepted, holdout: ab.holdout.recipients! };
    expect(drawn.short + drawn.long + drawn.holdout).toBe(100_000);
    // Five standard deviations of a binomial draw: a false alarm once in millions of campaigns.
    for (const [name, share] of [
      ['short', 0.54],
      ['long', 0.36],
      ['holdout', 0.1],
    ] as const) {
      const tolerance = 5 * Math.sqrt(100_000 * share * (1 - share));
      expect({ name, off: Math.abs(drawn[name] - 100_000 * share) < tolerance }).toEqual({ name, off: true });
    }
    expect(ab.variants.map((variant) => [variant.name, variant.share])).toEqual([
      ['short', 54],
      ['long', 36],
    ]);
  });

  it('sends each device its variant, the holdout nothing, and reports every count per variant', async () => {
    const { dir, config, tokens } = campaignDir(2000);
    const sent = await runCli(['send', '--config', config, ...abArgs, '--campaign', 'winter-ab', '--events', 'events.jsonl', '--html', 'report.html', '--json'], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    const record = JSON.parse(sent.stdout) as CampaignRecord;
    const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: true });
    (addFormats as unknown as typeof addFormats.default)(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'schema/report-v1.schema.json'), 'utf8')));
    expect(validate(record), JSON.stringify(validate.errors)).toBe(true);

    const wire = variantsOnTheWire();
    const count = (name: string) => [...wire.values()].filter((variant) => variant === name).length;
    const held = tokens.filter((token) => !wire.has(token));
    expect(record.ab!.variants.map((variant) => [variant.name, variant.counts.accepted])).toEqual([
      ['short', count('short')],
      ['long', count('long')],
    ]);
    expect(record.ab!.holdout.recipients).toBe(held.length);
    expect(record.skippedByReason).toEqual({ holdout: held.length });
    expect(held.length).toBeGreaterThan(0);
    // Each message carries its variant's FCM label; the events feed says each recipient's variant.
    for (const item of emulator.delivered()) {
      expect((item.message as { fcmOptions?: { analyticsLabel: string } }).fcmOptions?.analyticsLabel).toBe(`winter-ab.${wire.get(item.token)}`);
    }
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { token: string; variant?: string; outcome: string; reason?: string });
    for (const line of lines.filter((entry) => entry.outcome === 'accepted')) expect(line.variant).toBe(wire.get(line.token));
    expect(lines.filter((entry) => entry.reason === 'holdout').length).toBe(held.length);
    // The HTML page gives the same counts, variant by variant, and the holdout.
    const page = readFileSync(join(dir, 'report.html'), 'utf8');
    const cell = (variant: string, kind: string) => new RegExp(`<tr data-variant="${variant}">.*?<td data-kind="${kind}">(\\d+)</td>`).exec(page)?.[1];
    expect([cell('short', 'accepted'), cell('long', 'accepted'), cell('holdout', 'held')]).toEqual([String(count('short')), String(count('long')), String(held.length)]);
  });

  it('draws the same variants across 2 shards, and across a kill -9 and a resume, as in one process', async () => {
    const single = campaignDir(1500);
    expect((await runCli(['send', '--config', single.config, ...abArgs, '--campaign', 'stable-ab', '--quiet'], { cwd: single.dir })).code).toBe(0);
    const once = variantsOnTheWire();

    emulator.reset();
    const sharded = campaignDir(1500);
    for (const shard of ['1/2', '2/2']) {
      expect((await runCli(['send', '--config', sharded.config, ...abArgs, '--campaign', 'stable-ab', '--shard', shard, '--quiet'], { cwd: sharded.dir })).code).toBe(0);
    }
    expect(variantsOnTheWire()).toEqual(once);
    // pushcast report adds up the shards' variant counts.
    const shards = await runCli(['report', 'stable-ab', '--json'], { cwd: sharded.dir });
    expect(shards.code, shards.stderr).toBe(0);
    const byShards = (JSON.parse(shards.stdout) as CampaignRecord).ab!;
    expect(byShards.variants.map((variant) => [variant.name, variant.counts.accepted])).toEqual([
      ['short', [...once.values()].filter((variant) => variant === 'short').length],
      ['long', [...once.values()].filter((variant) => variant === 'long').length],
    ]);
    expect(byShards.holdout.recipients).toBe(1500 - once.size);

    emulator.reset();
    const killed = campaignDir(1500);
    const args = ['send', '--config', killed.config, ...abArgs, '--campaign', 'stable-ab', '--quiet', '--rate', '300'];
    const child = spawn(process.execPath, [bin, ...args], { cwd: killed.dir });
    await waitFor(() => emulator.delivered().length >= 200 || child.exitCode !== null, 'the first 200 deliveries', 300_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.on('exit', resolve)));
    expect(child.signalCode).toBe('SIGKILL');
    // Each of the journal's lines says its recipients' variants, so the died run's report counts by variant.
    const journal = readFileSync(join(killed.dir, '.pushcast', 'stable-ab.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { t: string; k?: string[]; v?: string; ab?: { variants: Array<{ name: string }> } });
    expect(journal[0].ab!.variants.map((variant) => variant.name)).toEqual(['short', 'long']);
    const sentLines = journal.filter((line) => line.t === 'sent');
    expect(sentLines.length).toBeGreaterThan(0);
    for (const line of sentLines) expect(line.v).toMatch(new RegExp(`^[01]{${line.k!.length}}$`)); // each recipient's variant, by its place
    const died = await runCli(['report', 'stable-ab', '--json'], { cwd: killed.dir });
    expect(died.code, died.stderr).toBe(0);
    const diedRecord = JSON.parse(died.stdout) as CampaignRecord;
    expect(diedRecord.status).toBe('interrupted');
    expect(diedRecord.ab!.holdout).toEqual({ share: 10 }); // how many were held out: not in a died run's journal
    const atKill = variantsOnTheWire();
    for (const variant of diedRecord.ab!.variants) {
      // Accepted by the journal's word; those in flight at the kill may or may not have arrived.
      const arrived = [...atKill.values()].filter((name) => name === variant.name).length;
      expect(variant.counts.accepted).toBeLessThanOrEqual(arrived);
      expect(variant.counts.accepted + variant.counts.uncertain).toBeGreaterThanOrEqual(arrived);
      expect(variant.providers.fcm).toEqual(variant.counts);
    }
    expect(diedRecord.ab!.variants.reduce((sum, variant) => sum + variant.counts.targeted + variant.counts.skipped, 0)).toBe(
      diedRecord.counts.targeted + diedRecord.counts.skipped,
    );
    const resumed = await runCli([...args.filter((arg) => arg !== '--rate' && arg !== '300' && arg !== '--quiet'), '--json'], { cwd: killed.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const tokens = emulator.delivered().map((item) => item.token);
    expect(new Set(tokens).size).toBe(tokens.length); // nobody twice
    // Each device got the variant it got in one process; those in flight at the kill are uncertain, not resent.
    const wire = variantsOnTheWire();
    expect([...wire].filter(([token, variant]) => once.get(token) !== variant)).toEqual([]);
    const record = JSON.parse(resumed.stdout) as CampaignRecord;
    expect(record.counts.accepted + record.counts.uncertain).toBe(once.size);
    expect(wire.size).toBeGreaterThanOrEqual(record.counts.accepted);
    expect(record.ab!.holdout.recipients).toBe(1500 - once.size);
  });

  it("names each failed and invalid recipient's variant in --failed-out and --invalid-out, and the failed file sent again keeps each row to it", async () => {
    // The variants each device is drawn, from a campaign with no faults: the draw depends only on the campaign and the device.
    const clean = campaignDir(300);
    expect((await runCli(['send', '--config', clean.config, ...abArgs, '--campaign', 'files-ab', '--quiet'], { cwd: clean.dir })).code).toBe(0);
    const drawn = variantsOnTheWire();

    emulator.reset();
    const { dir, config, tokens } = campaignDir(300);
    const reached = tokens.filter((token) => drawn.has(token));
    const dead = reached.slice(0, 15);
    const failing = reached.slice(15, 45);
    for (const token of dead) emulator.behaviour.dead.add(token);
    for (const token of failing) emulator.behaviour.forced.set(token, { status: 503, reason: 'UNAVAILABLE', retryAfterSeconds: 0 });
    const sent = await runCli(['send', '--config', config, ...abArgs, '--campaign', 'files-ab', '--failed-out', 'failed.csv', '--invalid-out', 'invalid.csv', '--json'], {
      cwd: dir,
    });
    const record = JSON.parse(sent.stdout) as CampaignRecord;
    expect([record.counts.invalid, record.counts.failed], sent.stderr).toEqual([dead.length, failing.length]);
    const rows = (file: string) =>
      readFileSync(join(dir, file), 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(','));
    const invalid = rows('invalid.csv');
    expect(invalid[0]).toEqual(['provider', 'token', 'user_id', 'reason', 'detail', 'time', 'ab_variant']);
    expect(new Map(invalid.slice(1).map((row) => [row[1], row[6]]))).toEqual(new Map(dead.map((token) => [token, drawn.get(token)])));
    const failed = rows('failed.csv');
    expect(failed[0]).toEqual(['provider', 'token', 'ab_variant']);
    expect(new Map(failed.slice(1).map((row) => [row[1], row[2]]))).toEqual(new Map(failing.map((token) => [token, drawn.get(token)])));
    // Per variant, the report counts them as the files do.
    for (const variant of record.ab!.variants) {
      expect([variant.name, variant.counts.failed]).toEqual([variant.name, failing.filter((token) => drawn.get(token) === variant.name).length]);
    }

    // Sent again (another campaign, whose own draw would differ), each row gets the variant it names; a row naming no variant is refused by its line.
    emulator.reset();
    emulator.behaviour.forced.clear();
    emulator.behaviour.dead.clear(); // reset keeps them: the next tests' devices have these tokens too
    writeFileSync(join(dir, 'failed.csv'), `${readFileSync(join(dir, 'failed.csv'), 'utf8').trimEnd()}\nfcm,${fcmToken('ab-stray')},medium\n`);
    const again = await runCli(
      ['send', '--config', config, '-a', 'failed.csv', '--variant', 'short.json', '--variant', 'long.json', '--holdout', '50%', '--campaign', 'files-ab-again', '--json'],
      {
        cwd: dir,
      },
    );
    const retried = JSON.parse(again.stdout) as CampaignRecord;
    expect(variantsOnTheWire()).toEqual(new Map(failing.map((token) => [token, drawn.get(token)])));
    expect(retried.errors).toEqual([
      expect.objectContaining({
        line: failing.length + 2,
        reason: 'malformed-row',
        detail: expect.stringContaining('"medium", which is none of this campaign\'s variants (short, long)'),
      }),
    ]);
    expect(retried.ab!.holdout.recipients).toBe(0);

    // An audience's own `variant` column (a product's) is a template variable, not the A/B one.
    writeFileSync(join(dir, 'own.csv'), `provider,token,variant\nfcm,${fcmToken('ab-own')},red\n`);
    const own = await runCli(['send', '--config', config, '-a', 'own.csv', '--variant', 'short.json', '--variant', 'long.json', '--json'], { cwd: dir });
    expect(own.code, own.stderr).toBe(0);
    expect((JSON.parse(own.stdout) as CampaignRecord).counts).toMatchObject({ accepted: 1, skipped: 0 });
  });

  it("counts a re-run's recipients by the variant the journal says they were sent, though the audience's ab_variant column changed", async () => {
    const { dir, config, tokens } = campaignDir(50);
    const audience = (variant: string) => writeFileSync(join(dir, 'pinned.csv'), ['provider,token,ab_variant', ...tokens.map((token) => `fcm,${token},${variant}`)].join('\n'));
    const send = () =>
      runCli(['send', '--config', config, '-a', 'pinned.csv', '--variant', 'short.json', '--variant', 'long.json', '--campaign', 'pinned-ab', '--json'], { cwd: dir });
    audience('short');
    expect((await send()).code).toBe(0);
    expect(new Set(variantsOnTheWire().values())).toEqual(new Set(['short']));
    emulator.reset();
    audience('long');
    const again = await send();
    expect(again.code, again.stderr).toBe(0);
    expect(emulator.delivered()).toEqual([]);
    const counts = (JSON.parse(again.stdout) as CampaignRecord).ab!.variants.map((variant) => [variant.name, variant.counts.accepted]);
    expect(counts).toEqual([
      ['short', 50],
      ['long', 0],
    ]);
  });

  it('a re-run with a holdout added holds out none of the devices the first run sent: they stay counted as sent, by their variant', async () => {
    const { dir, config } = campaignDir(100);
    const send = (...extra: string[]) =>
      runCli(['send', '--config', config, '-a', 'audience.csv', '--variant', 'short.json', '--variant', 'long.json', '--campaign', 'late-holdout', '--json', ...extra], {
        cwd: dir,
      });
    const first = await send();
    expect(first.code, first.stderr).toBe(0);
    const wire = variantsOnTheWire();
    expect(wire.size).toBe(100);
    emulator.reset();
    const again = await send('--holdout', '50%', '--change-message');
    expect(again.code, again.stderr).toBe(0);
    expect(emulator.delivered()).toEqual([]);
    const record = JSON.parse(again.stdout) as CampaignRecord;
    expect(record.counts.accepted).toBe(100);
    expect(record.ab!.holdout.recipients).toBe(0);
    expect(record.ab!.variants.map((variant) => [variant.name, variant.counts.accepted])).toEqual(
      ['short', 'long'].map((name) => [name, [...wire.values()].filter((variant) => variant === name).length]),
    );
  });

  it('a re-run with another set of variants resends an uncertain recipient with one of its own, its label and its message agreeing', async () => {
    const { dir, config } = campaignDir(200);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ title: 'variant other', body: 'Something else' }));
    // FCM takes every request and answers none: each recipient sent is uncertain, its variant in the journal's sent line.
    emulator.behaviour.stall.add('fcm');
    const stalled = await runCli(
      ['send', '--config', config, '-a', 'audience.csv', '--variant', 'short.json', '--variant', 'long.json', '--campaign', 'replanned', '--stall-timeout', '2', '--json'],
      { cwd: dir },
    ).finally(() => emulator.behaviour.stall.delete('fcm'));
    expect(stalled.code, stalled.stderr).toBe(2);
    expect((JSON.parse(stalled.stdout) as CampaignRecord).ab!.variants.find((variant) => variant.name === 'long')!.counts.uncertain).toBeGreaterThan(0);
    emulator.reset();
    const again = await runCli(
      [
        'send',
        '--config',
        config,
        '-a',
        'audience.csv',
        '--variant',
        'short.json',
        '--variant',
        'other.json',
        '--campaign',
        'replanned',
        '--change-message',
        '--resend-uncertain',
        '--json',
      ],
      { cwd: dir },
    );
    expect(again.code, again.stderr).toBe(0);
    const delivered = emulator.delivered();
    expect(delivered.length).toBeGreaterThan(0);
    for (const item of delivered) {
      const message = item.message as { notification: { title: string }; fcmOptions?: { analyticsLabel: string } };
      const variant = message.notification.title.replace('variant ', '');
      expect(['short', 'other']).toContain(variant);
      expect(message.fcmOptions?.analyticsLabel).toBe(`replanned.${variant}`);
    }
  });

  it("draws a user-ID audience by user: every device of a user gets the user's variant", async () => {
    const { dir, config } = campaignDir(0);
    const devices = Array.from({ length: 60 }, (_, user) => [`fcm,${fcmToken(`ab-u${user}-phone`)},u${user}`, `fcm,${fcmToken(`ab-u${user}-tablet`)},u${user}`]).flat();
    writeFileSync(join(dir, 'devices.csv'), ['provider,token,user_id', ...devices].join('\n'));
    expect((await runCli(['devices', 'import', 'devices.csv'], { cwd: dir })).code).toBe(0);
    writeFileSync(join(dir, 'users.csv'), ['user_id', ...Array.from({ length: 60 }, (_, user) => `u${user}`)].join('\n'));
    const sent = await runCli(['send', '--config', config, '-a', 'users.csv', '--variant', 'short.json', '--variant', 'long.json', '--quiet'], { cwd: dir });
    expect(sent.code, sent.stderr).toBe(0);
    const wire = variantsOnTheWire();
    const byUser = Array.from({ length: 60 }, (_, user) => [wire.get(fcmToken(`ab-u${user}-phone`)), wire.get(fcmToken(`ab-u${user}-tablet`))]);
    expect(byUser.filter(([phone, tablet]) => phone === undefined || phone !== tablet)).toEqual([]);
    expect(new Set(byUser.map(([phone]) => phone))).toEqual(new Set(['short', 'long']));
  });

  it('refuses one variant, --message beside them, a split that does not match, and a holdout of 100%, before anything is sent', async () => {
    const { dir, config } = campaignDir(10);
    const send = (...args: string[]) => runCli(['send', '--config', config, '-a', 'audience.csv', ...args], { cwd: dir });
    expect((await send('--variant', 'short.json')).stderr).toContain('needs two or more --variant');
    expect((await send('--variant', 'short.json', '--variant', 'long.json', '-m', 'short.json')).stderr).toContain('not both');
    expect((await send('--variant', 'short.json', '--variant', 'long.json', '--split', '50')).stderr).toContain('one positive weight a variant');
    const whole = await send('--variant', 'short.json', '--variant', 'long.json', '--holdout', '100%');
    expect(whole.code).toBe(1);
    expect(whole.stderr).toContain('under 100%');
    expect(emulator.attemptLog()).toEqual([]);
  });
});
