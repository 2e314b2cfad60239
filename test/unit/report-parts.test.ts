import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { showControls } from '../../src/domain/quote-value.js';
import { terminalText } from '../../src/cli/io.js';
import { describe, expect, it } from 'vitest';
import { guardFormula, unguardFormula } from '../../src/audience/guard-formula.js';
import { openAudience } from '../../src/audience/read-audience.js';
import { crossedThresholds, nothingGotThrough } from '../../src/campaign/thresholds.js';
import type { FinalEvent, FinalKind, WrongSender } from '../../src/domain/outcome.js';
import { countFinal, emptyTally, type Tally } from '../../src/domain/tally.js';
import { buildRecord, RecordLists, type CampaignRecord } from '../../src/report/campaign-record.js';
import { csvLine } from '../../src/report/csv.js';
import { formatReport, quietLine } from '../../src/report/format-report.js';
import { ReportFiles } from '../../src/report/report-files.js';
import { mergeRecords } from '../../src/report/read-campaign.js';
import { guardMinimum, SanityGuard } from '../../src/report/sanity-guard.js';
import { device } from '../helpers/audience.js';
import { alphabet, generatedCells, hostileCells, runsAsFormula } from '../helpers/hostile-cells.js';
import { fcmToken, tempDir } from '../helpers/tokens.js';

const environment: WrongSender = { fix: 'tokens of the other APNs environment: check apns.environment', when: 'many' };

/** A tally as a campaign would leave it, from counts of each final kind (and reasons where given). */
function tallyOf(kinds: Partial<Record<FinalKind, number>>, reasons: Partial<Record<FinalKind, string>> = {}): Tally {
  const tally = emptyTally();
  for (const [kind, n] of Object.entries(kinds) as Array<[FinalKind, number]>) for (let i = 0; i < n; i++) countFinal(tally, 'fcm', kind, reasons[kind] ?? kind);
  return tally;
}

describe("the sanity guard reads the classifiers' wrong-sender marks", () => {
  const answer = (i: number, kind: FinalKind, wrongSender?: WrongSender, apnsEnvironment?: 'sandbox'): FinalEvent => ({
    kind,
    line: i,
    provider: 'apns',
    recipient: device('apns', `guard-${i}`, { apnsEnvironment }),
    reason: kind === 'invalid' ? 'BadDeviceToken' : undefined,
    wrongSender,
    attempts: 1,
  });

  it('calls a group suspect when over 20% of it, and at least 30, came back invalid with a mark', () => {
    const guard = new SanityGuard();
    for (let i = 0; i < 100; i++) guard.observe(answer(i, i < 40 ? 'invalid' : 'accepted', i < 40 ? environment : undefined));
    expect(guard.suspects()).toEqual([{ group: 'apns/production', provider: 'apns', invalid: 40, targeted: 100, note: expect.stringContaining('check apns.environment') }]);
  });

  it.each([
    ['a small share', 100, 20, environment],
    [`fewer than ${guardMinimum}`, 50, guardMinimum - 1, environment],
    ['answers with no mark (a 410 from a push service is final)', 100, 60, undefined],
  ])('does not for %s', (_what, total, invalid, mark) => {
    const guard = new SanityGuard();
    for (let i = 0; i < total; i++) guard.observe(answer(i, i < invalid ? 'invalid' : 'accepted', i < invalid ? mark : undefined));
    expect(guard.suspects()).toEqual([]);
  });

  it('judges each APNs environment apart', () => {
    const guard = new SanityGuard('production');
    for (let i = 0; i < 50; i++) guard.observe(answer(i, 'invalid', environment, 'sandbox'));
    for (let i = 50; i < 150; i++) guard.observe(answer(i, 'accepted'));
    expect(guard.suspects().map((suspect) => suspect.group)).toEqual(['apns/sandbox']);
  });
});

describe('thresholds: when a finished campaign exits 3', () => {
  it.each([
    ['nothing crossed', tallyOf({ accepted: 90, invalid: 10 }), { maxInvalidRate: 0.2 }, []],
    ['--max-invalid-rate', tallyOf({ accepted: 80, invalid: 20 }), { maxInvalidRate: 0.1 }, ['20.0% of tokens are invalid, over --max-invalid-rate 10.0%']],
    ['--max-failed', tallyOf({ accepted: 95, failed: 5 }), { maxFailed: 4 }, ['5 recipients failed after retries, over --max-failed 4']],
    ['--require-all-accepted', tallyOf({ accepted: 9, uncertain: 1 }), { requireAllAccepted: true }, ['--require-all-accepted: 1 uncertain']],
    ['--require-all-accepted, duplicates aside', tallyOf({ accepted: 9, skipped: 2 }, { skipped: 'duplicate' }), { requireAllAccepted: true }, []],
    ['nobody reached', tallyOf({ failed: 3, uncertain: 2 }), {}, ['nothing got through: 5 targeted, none accepted or found invalid (3 failed, 2 uncertain)']],
    ['no row sendable', tallyOf({ skipped: 4 }, { skipped: 'malformed-token' }), {}, ['no row could be sent: 4 rows read, every one skipped (malformed-token 4)']],
  ] as Array<[string, Tally, Parameters<typeof crossedThresholds>[1], string[]]>)('%s', (_what, tally, thresholds, crossed) => {
    expect(crossedThresholds(tally, thresholds)).toEqual(crossed);
  });

  it('counts found-invalid tokens as got through: the provider judged them', () => {
    expect(nothingGotThrough(tallyOf({ invalid: 5 }))).toBeUndefined();
  });

  it('counts only-format-checked rows (pushcast check) as checked', () => {
    expect(nothingGotThrough(tallyOf({ skipped: 5 }, { skipped: 'format-checked-only' }))).toBeUndefined();
  });
});

describe('merging the records of shards', () => {
  const shardRecord = (shard: string, kinds: Partial<Record<FinalKind, number>>, startedAt: string, seconds: number, sends: number): CampaignRecord => {
    const tally = tallyOf(kinds, { invalid: 'unregistered', skipped: 'duplicate' });
    tally.sends = sends;
    tally.retries = sends - (tally.counts.targeted ?? 0);
    return buildRecord({
      campaign: 'sale',
      shard,
      tally,
      lists: new RecordLists(),
      suspects: [],
      resources: { seconds, cpuSeconds: seconds / 2, peakRssMB: 100 },
      startedAt: new Date(startedAt),
    });
  };

  it('sums the counts, spans the time from the first start to the last end, and keeps the aliases equal to the counts', () => {
    const merged = mergeRecords([
      shardRecord('1/2', { accepted: 10, invalid: 2, skipped: 1 }, '2026-11-30T10:00:00Z', 4, 14),
      shardRecord('2/2', { accepted: 8, uncertain: 1 }, '2026-11-30T10:00:01Z', 5, 9),
    ]);
    expect(merged).toMatchObject({
      campaign: 'sale',
      status: 'done',
      counts: { targeted: 21, accepted: 18, invalid: 2, uncertain: 1, skipped: 1 },
      devices: 21,
      successes: 18,
      invalidTokens: 2,
      invalidByReason: { unregistered: 2 },
      skippedByReason: { duplicate: 1 },
      startedAt: '2026-11-30T10:00:00.000Z',
      finishedAt: '2026-11-30T10:00:06.000Z',
      durationSeconds: 6,
      sends: 23,
      sendsPerSecond: 4,
      retries: 2,
      resources: { seconds: 6, cpuSeconds: 4.5, peakRssMB: 100 },
    });
    expect(merged).not.toHaveProperty('shard');
  });

  it('is interrupted if any shard was, and stopped if any stopped', () => {
    const done = shardRecord('1/2', { accepted: 1 }, '2026-11-30T10:00:00Z', 1, 1);
    const interrupted = { ...shardRecord('2/2', { accepted: 1 }, '2026-11-30T10:00:00Z', 1, 1), status: 'interrupted' as const };
    expect(mergeRecords([done, interrupted]).status).toBe('interrupted');
    expect(mergeRecords([done, { ...interrupted, status: 'stopped' }]).status).toBe('stopped');
  });
});

describe('the CSV files a campaign writes', () => {
  it.each([
    ['=HYPERLINK("http://evil.example","win")', `'=HYPERLINK("http://evil.example","win")`],
    ['@SUM(A1:A9)', `'@SUM(A1:A9)`],
    ['+cmd|" /C calc"!A0', `'+cmd|" /C calc"!A0`],
    ['-2+3+cmd|" /C calc"!A0', `'-2+3+cmd|" /C calc"!A0`],
    ['\t=1+1', `'\t=1+1`],
    ['\r=1+1', `'\r=1+1`],
    ["'=1+1", `''=1+1`], // a value that begins with a text mark keeps it: one more is written
    ["''@SUM(A1)", `'''@SUM(A1)`],
    ["'plain", "'plain"],
    ["'-20%", "'-20%"],
    ['-20%', '-20%'],
    ['+49 30 1234', '+49 30 1234'],
    ['Renée', 'Renée'],
  ])('guards a free-text cell %j as %j', (cell, written) => {
    expect(guardFormula(cell)).toBe(written);
    expect(unguardFormula(written)).toBe(cell);
  });

  it.each([
    ["'=1+1", '=1+1'], // typed in a spreadsheet: the mark says "text", it is not part of the value
    ["''=1+1", "'=1+1"],
    ["'plain", "'plain"],
    ["'-20%", "'-20%"],
    ["'", "'"],
    ['=1+1', '=1+1'],
  ])('reads an audience cell %j as %j', (cell, value) => {
    expect(unguardFormula(cell)).toBe(value);
  });

  it('undoes its guard exactly, and never leaves a formula, for every string up to 4 characters and 3,000 longer ones', () => {
    const cells = [...hostileCells, ...generatedCells(alphabet, 4, 3000)];
    expect(cells.length).toBeGreaterThan(90_000);
    const wrong = cells.filter((cell) => unguardFormula(guardFormula(cell)) !== cell || runsAsFormula(guardFormula(cell)));
    expect(wrong).toEqual([]);
  });

  it.each([
    ['commas', ','],
    ['semicolons', ';'],
    ['tabs', '\t'],
  ])('quotes every cell with a line break, NUL, a quote or the delimiter: csv-parse and the audience reader read back the same rows (%s)', async (_what, delimiter) => {
    const cells = [...hostileCells, ...generatedCells(alphabet, 2, 1000)];
    const header = ['provider', 'token', 'name'];
    const rows = cells.map((cell, index) => ['fcm', index === 0 ? `-${fcmToken(index).slice(1)}` : fcmToken(index), cell]);
    const path = join(tempDir(), 'again.csv');
    writeFileSync(path, [header, ...rows].map((row) => csvLine(row, { delimiter, guarded: new Set([2]) })).join(''));
    const written = [header, ...rows.map(([provider, token, name]) => [provider, token, guardFormula(name)])];
    expect(parse(readFileSync(path, 'utf8'), { delimiter })).toEqual(written);
    const audience = await openAudience({ path });
    expect(audience.format?.delimiter).toBe(delimiter);
    const read: string[][] = [];
    for await (const row of audience.rows) read.push(row.kind === 'problem' ? [row.reason] : row.fields);
    expect(read).toEqual(rows);
  });

  it('quotes a cell with a carriage return, a line feed, NUL, a quote or the delimiter, and no other', () => {
    expect(csvLine(['cr\r', 'lf\n', 'nul\0', 'q"', 'a,b', 'a;b', 'plain'])).toBe('"cr\r","lf\n","nul\0","q""","a,b",a;b,plain\n');
    expect(csvLine(['a,b', 'a;b'], { delimiter: ';' })).toBe('a,b;"a;b"\n');
  });

  it('writes a prune row with a hostile detail as one row that reads back to the detail', async () => {
    const dir = tempDir();
    const invalidOut = join(dir, 'prune.csv');
    const files = new ReportFiles({ invalidOut, audience: { shape: 'devices', header: ['provider', 'token'], freeText: [] }, groupOf: new SanityGuard().heldBackGroup });
    hostileCells.forEach((detail, index) => {
      const recipient = device('fcm', `hostile-${index}`, { userId: `u${index}` });
      files.onFinal({ kind: 'invalid', line: index + 2, provider: 'fcm', recipient, reason: 'unregistered', detail, attempts: 1 });
    });
    await files.finish({ withheld: new Set() });
    const rows = parse(readFileSync(invalidOut, 'utf8')) as string[][];
    expect(rows).toHaveLength(hostileCells.length + 1);
    expect(rows.map((row) => row.length)).toEqual(rows.map(() => 6));
    expect(rows.slice(1).map((row) => [row[1], row[2], unguardFormula(row[4])])).toEqual(hostileCells.map((detail, index) => [fcmToken(`hostile-${index}`), `u${index}`, detail]));
    expect(rows.slice(1).filter((row) => runsAsFormula(row[4]))).toEqual([]);
  });

  it("writes failed rows in the audience's own delimiter, guarding its free text and never a token", async () => {
    const dir = tempDir();
    const failedOut = join(dir, 'failed.csv');
    const invalidOut = join(dir, 'prune.csv');
    const header = ['provider', 'token', 'name', 'coupon'];
    const files = new ReportFiles({
      failedOut,
      invalidOut,
      audience: { shape: 'devices', header, delimiter: ';', freeText: [2, 3] },
      groupOf: new SanityGuard().heldBackGroup,
    });
    const token = `-${fcmToken('dash').slice(1)}`; // an FCM token may start with "-": it is never touched
    const failed = device('fcm', 'dash', { token, fields: ['fcm', token, '=1+1', '4,99 €; today'] });
    files.onFinal({ kind: 'failed', line: 2, provider: 'fcm', recipient: failed, reason: 'unavailable', attempts: 5 });
    const dead = device('fcm', 'dead', { fields: ['fcm', fcmToken('dead'), 'Bo', 'X'] });
    files.onFinal({ kind: 'invalid', line: 3, provider: 'fcm', recipient: dead, reason: 'unregistered', detail: '=evil()', attempts: 1 });
    await files.finish({ withheld: new Set() });
    expect(readFileSync(failedOut, 'utf8')).toBe(`provider;token;name;coupon\nfcm;${token};'=1+1;"4,99 €; today"\n`);
    const pruned = readFileSync(invalidOut, 'utf8').split('\n');
    expect(pruned[1]).toMatch(new RegExp(`^fcm,${fcmToken('dead')},,unregistered,'=evil\\(\\),\\d{4}-`));
  });
});

describe('the text report never contradicts itself', () => {
  /** A record built the way a campaign builds it, from final events. */
  function recordFrom(events: FinalEvent[], extra: Partial<Parameters<typeof buildRecord>[0]> = {}): CampaignRecord {
    const tally = emptyTally();
    const lists = new RecordLists();
    for (const event of events) {
      countFinal(tally, event.provider, event.kind, event.reason);
      lists.onFinal(event);
    }
    return buildRecord({ campaign: 'c', tally, lists, suspects: [], resources: { seconds: 1, cpuSeconds: 0, peakRssMB: 0 }, startedAt: new Date(0), ...extra });
  }
  const event = (line: number, kind: FinalKind, reason?: string, provider: FinalEvent['provider'] = 'fcm', detail?: string): FinalEvent => ({
    line,
    kind,
    reason,
    provider,
    detail,
    attempts: 1,
  });

  it('says how many invalid tokens were held back as suspect and how many are left to prune', () => {
    const events = Array.from({ length: 40 }, (_, i) => event(i + 2, 'invalid', 'bad-token', 'apns'));
    const suspects = [{ group: 'apns/production', provider: 'apns' as const, invalid: 40, targeted: 40, note: 'suspect' }];
    const record = recordFrom(events, { suspects });
    expect(record.invalidHeldBack).toBe(40);
    expect(formatReport(record)).toContain('invalid 40 (held back as suspect 40, to prune 0)');
    expect(formatReport(record)).not.toContain('to prune: 40');
    // --trust-invalid prunes them: nothing is held back.
    expect(recordFrom(events, { suspects, trustInvalid: true }).invalidHeldBack).toBe(0);
  });

  it('gives rows with no provider an (unrouted) row, so the skipped column adds up, and says where their lines are', () => {
    const record = recordFrom([
      event(2, 'accepted'),
      event(3, 'skipped', 'malformed-token'),
      { ...event(4, 'skipped', 'unknown-provider'), provider: undefined },
      { ...event(5, 'skipped', 'unknown-provider'), provider: undefined },
    ]);
    expect(record.unroutedSkipped).toBe(2);
    const text = formatReport(record);
    const skippedColumn = (label: string) =>
      Number(
        text
          .split('\n')
          .find((line) => line.startsWith(label))!
          .trim()
          .split(/\s+/)
          .at(-1),
      );
    expect(skippedColumn('fcm')).toBe(1);
    expect(skippedColumn('(unrouted)')).toBe(2);
    expect(skippedColumn('total')).toBe(skippedColumn('fcm') + skippedColumn('(unrouted)'));
    expect(text).toContain('at lines 3, 4, 5; every one with its reason: --json (errors)');
  });

  it('prints each outcome of a smoke send in full, detail included, and counts in the right number', () => {
    const record = recordFrom([event(2, 'skipped', 'malformed-token', 'fcm', 'FCM token is 5 characters, too short to be real')]);
    const text = formatReport({ ...record, retries: 1 });
    expect(text).toContain('line 2 (fcm): skipped malformed-token: FCM token is 5 characters, too short to be real');
    expect(text).toContain(', 1 retry');
    expect(formatReport({ ...record, retries: 2 })).toContain(', 2 retries');
  });

  it('calls a check valid, not accepted, and names the registry devices of a channel send as such', () => {
    const check = recordFrom([event(2, 'accepted'), event(3, 'invalid', 'unregistered')], { command: 'check' });
    expect(formatReport(check)).toContain('valid 1 (50.0% of checked): FCM checked these (validate_only); nothing was delivered.');
    expect(formatReport(check)).not.toContain('they do not report delivery');
    expect(quietLine(check)).toContain('1 valid');
    const channel = recordFrom([event(17, 'skipped', 'provider-not-configured', 'apns')], { lineIs: 'registry-device-id' });
    expect(formatReport(channel)).toContain('at registry device 17');
    expect(formatReport(channel)).toContain('registry device 17 (apns): skipped provider-not-configured');
    expect(formatReport(channel)).not.toMatch(/\bline 17\b/);
  });

  it('says which shard a --quiet line is of', () => {
    expect(quietLine({ ...recordFrom([event(2, 'accepted')]), shard: '2/4' })).toMatch(/^campaign c \(shard 2\/4\) done: 1 targeted, 1 accepted/);
  });
});

describe('text from outside, shown', () => {
  it('escapes the controls a terminal or a page would act on, direction overrides included, and keeps line breaks and tabs', () => {
    expect(showControls('winners-\u202Egnp.csv')).toBe('winners-\\u202Egnp.csv');
    expect(showControls('a\u2066b\u2069c')).toBe('a\\u2066b\\u2069c');
    expect(showControls('\u001b[2Jhi\u0007')).toBe('\\x1b[2Jhi\\x07');
    expect(showControls('one\ntwo\tthree')).toBe('one\ntwo\tthree');
    expect(terminalText('\u202Etxt.exe')).toBe('\\u202Etxt.exe');
  });
});
