import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromRanges, JournalWriter, toRanges } from '../../src/journal/journal.js';
import { endRecord, readJournal } from '../../src/journal/read-journal.js';
import { PriorIndex } from '../../src/journal/prior-index.js';
import { device } from '../helpers/audience.js';
import { tempDir } from '../helpers/tokens.js';

describe('the campaign journal', () => {
  it('tells settled, retry and uncertain recipients apart, and ignores a line torn by a crash', async () => {
    const path = join(tempDir(), 'journal', 'c1.jsonl');
    const [da, db, dc, dd] = [device('fcm', 'a', { line: 2 }), device('fcm', 'b', { line: 3 }), device('apns', 'c', { line: 4 }), device('webpush', 'd', { line: 5 })];
    const [a, b, c, d] = [da, db, dc, dd].map((recipient) => recipient.key);
    const writer = await JournalWriter.open(path, { campaign: 'c1', version: 'test' });
    await writer.sent('fcm', [da, db]);
    writer.final({ k: a, p: 'fcm', o: 'accepted', line: 2 });
    writer.retry(db);
    await writer.sent('apns', [dc]);
    await writer.sent('webpush', [dd]);
    writer.final({ k: d, p: 'webpush', o: 'invalid', r: 'unsubscribed', line: 5, token: dd.token });
    await writer.close();
    appendFileSync(path, '{"t":"final","k":"' + c); // the process died mid-write

    const { prior, runs, torn } = await readJournal(path);
    expect(torn).toBe(true);
    expect(runs).toHaveLength(1);
    expect(prior.get(a)).toMatchObject({ state: 'final', line: { o: 'accepted' } });
    expect(prior.get(b)).toEqual({ state: 'retry', provider: 'fcm', line: 3 });
    expect(prior.get(c)).toEqual({ state: 'uncertain', provider: 'apns', line: 4 });
    expect(prior.get(d)).toMatchObject({ state: 'final', line: { o: 'invalid', r: 'unsubscribed', p: 'webpush', line: 5 } });

    // A second run appends on a fresh line, after the torn one.
    const again = await JournalWriter.open(path, { campaign: 'c1', version: 'test' });
    await again.close();
    expect((await readJournal(path)).runs).toHaveLength(2);
    expect(readFileSync(path, 'utf8')).toMatch(/"k":"[0-9a-f]*\n\{"t":"run"/);
  });

  it('knows of each run when it started, when it last wrote, what it sent and how much of that was retries, and how it ended if it did', async () => {
    const path = join(tempDir(), 'runs.jsonl');
    const [a, b] = [device('fcm', 'ra'), device('fcm', 'rb')];
    const first = await JournalWriter.open(path, { campaign: 'c2', version: 'test' });
    await first.sent('fcm', [a]);
    const summary = { status: 'done', exitCode: 0, finishedAt: new Date().toISOString(), pauses: 0 };
    await first.end({ campaign: 'c2', status: 'done' }, summary);
    await first.close();
    const second = await JournalWriter.open(path, { campaign: 'c2', version: 'test' });
    await second.sent('fcm', [b]);
    second.retry(b);
    await second.sent('fcm', [b]); // the retry
    await second.close();
    const appended = readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const { lastRun, prior, runs } = await readJournal(path);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({ sends: 1, retries: 0, ended: true, end: summary });
    expect(runs[0].record).toBeUndefined(); // only the last run's report is kept
    expect(lastRun).toBe(runs[1]);
    expect(lastRun).toMatchObject({ run: { campaign: 'c2' }, sends: 2, retries: 1, ended: false });
    expect(lastRun!.record).toBeUndefined(); // the second run died: no report of its own
    expect(lastRun!.startedAt).toBe(Date.parse(appended.findLast((line) => line.t === 'run').at));
    expect(lastRun!.lastWriteAt).toBe(appended.findLast((line) => line.t === 'sent').at);
    expect(prior.get(a.key)).toEqual({ state: 'uncertain', provider: 'fcm', line: 2 });
  });

  it("settles a batch's accepted recipients by one `ok` line, in a run of its own, at under 40 bytes a recipient", async () => {
    const path = join(tempDir(), 'ok.jsonl');
    const batch = Array.from({ length: 500 }, (_, i) => device('fcm', `ok-${i}`, { line: 100_000 + i }));
    const writer = await JournalWriter.open(path, { campaign: 'ok', version: 'test' });
    const before = readFileSync(path).length;
    const number = await writer.sent('fcm', batch);
    const places = batch.map((_, place) => place).filter((place) => place !== 7 && place !== 300);
    writer.accepted(number, places);
    writer.final({ k: batch[7].key, p: 'fcm', o: 'invalid', r: 'unregistered', line: batch[7].line, token: batch[7].token });
    await writer.close();
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('"i":"0-6,8-299,301-499"');
    // 16 hex digits of key and a 6-digit line each, the invalid one's token beside.
    expect((text.length - before) / batch.length).toBeLessThan(40);

    // A second run numbers its batches from 0 again: its `ok` lines name its own batches.
    const second = await JournalWriter.open(path, { campaign: 'ok', version: 'test' });
    const [late] = [device('fcm', 'late', { line: 9 })];
    second.accepted(await second.sent('fcm', [late]), [0]);
    await second.close();

    const { prior } = await readJournal(path);
    expect(prior.get(batch[0].key)).toMatchObject({ state: 'final', line: { o: 'accepted', p: 'fcm', line: 100_000 } });
    expect(prior.get(batch[499].key)).toMatchObject({ state: 'final', line: { o: 'accepted', line: 100_499 } });
    expect(prior.get(batch[7].key)).toMatchObject({ state: 'final', line: { o: 'invalid' } });
    expect(prior.get(batch[300].key)).toEqual({ state: 'uncertain', provider: 'fcm', line: 100_300 }); // sent, never answered
    expect(prior.get(late.key)).toMatchObject({ state: 'final', line: { o: 'accepted', line: 9 } });
  });

  it('writes places as ranges and reads them back', () => {
    for (const places of [[], [0], [0, 1, 2, 5], [3, 4, 9, 10, 11, 499]]) expect(fromRanges(toRanges(places))).toEqual(places);
    expect(toRanges([0, 1, 2, 5])).toBe('0-2,5');
  });

  it('reads a journal that does not exist yet as empty', async () => {
    expect((await readJournal(join(tempDir(), 'none.jsonl'))).prior.size).toBe(0);
  });
});

describe("a journal's last report", () => {
  it('is read from the end of the file when the last run ended, and not when it died', async () => {
    const path = join(tempDir(), 'tail.jsonl');
    const writer = await JournalWriter.open(path, { campaign: 'c3', version: 'test' });
    // Many lines before the report: reading it must not depend on them.
    for (let i = 0; i < 2000; i++) await writer.sent('fcm', [device('fcm', `t${i}`)]);
    await writer.end(
      { campaign: 'c3', status: 'done', note: 'the end <\n> with a line break inside' },
      { status: 'done', exitCode: 0, finishedAt: new Date().toISOString(), pauses: 0 },
    );
    await writer.close();
    expect(await endRecord(path)).toEqual({ campaign: 'c3', status: 'done', note: 'the end <\n> with a line break inside' });

    const died = await JournalWriter.open(path, { campaign: 'c3', version: 'test' });
    await died.sent('fcm', [device('fcm', 'after')]);
    await died.close();
    expect(await endRecord(path)).toBeUndefined();
    expect(await endRecord(join(tempDir(), 'none.jsonl'))).toBeUndefined();
  });
});

describe('the index of what earlier runs left', () => {
  it('keeps every recipient of a large campaign by its 64-bit key, through growth, with what a resumed run counts', () => {
    const index = new PriorIndex();
    const keys = Array.from({ length: 50_000 }, (_, i) => device('fcm', `idx-${i}`).key);
    keys.forEach((key, i) => {
      if (i % 3 === 0)
        index.set(key, {
          state: 'final',
          line: { t: 'final', k: key, p: 'fcm', o: 'invalid', r: 'unregistered', d: `UNREGISTERED: ${i % 7}`, line: i + 2, w: { fix: 'check fcm', when: 'many' } },
        });
      else if (i % 3 === 1) index.set(key, { state: 'uncertain', provider: 'apns', line: i + 2 });
      else index.set(key, { state: 'retry', provider: 'webpush', line: i + 2 });
    });
    // A later line for the same recipient replaces the earlier one.
    index.set(keys[1], { state: 'final', line: { t: 'final', k: keys[1], p: 'apns', o: 'accepted', line: 3 } });
    expect(index.size).toBe(keys.length);
    expect(index.get(keys[0])).toEqual({
      state: 'final',
      line: { t: 'final', k: keys[0], p: 'fcm', o: 'invalid', r: 'unregistered', d: 'UNREGISTERED: 0', line: 2, w: { fix: 'check fcm', when: 'many' } },
    });
    expect(index.get(keys[1])).toEqual({ state: 'final', line: { t: 'final', k: keys[1], p: 'apns', o: 'accepted', line: 3 } });
    expect(index.get(keys[4])).toEqual({ state: 'uncertain', provider: 'apns', line: 6 });
    expect(index.get(keys[49_997])).toEqual({ state: 'retry', provider: 'webpush', line: 49_999 });
    expect(index.get(device('fcm', 'never-seen').key)).toBeUndefined();
    expect([...index.values()]).toHaveLength(keys.length);
  });
});
