import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JournalWriter } from '../src/journal/journal.js';
import { endRecord, readJournal } from '../src/journal/read-journal.js';
import { device } from './helpers/audience.js';
import { tempDir } from './helpers/tokens.js';

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
    expect(runs).toBe(1);
    expect(prior.get(a)).toMatchObject({ state: 'final', line: { o: 'accepted' } });
    expect(prior.get(b)).toEqual({ state: 'retry', provider: 'fcm', line: 3 });
    expect(prior.get(c)).toEqual({ state: 'uncertain', provider: 'apns', line: 4 });
    expect(prior.get(d)).toMatchObject({ state: 'final', line: { o: 'invalid', r: 'unsubscribed', token: dd.token } });

    // A second run appends on a fresh line, after the torn one.
    const again = await JournalWriter.open(path, { campaign: 'c1', version: 'test' });
    await again.close();
    expect((await readJournal(path)).runs).toBe(2);
    expect(readFileSync(path, 'utf8')).toMatch(/"k":"[0-9a-f]*\n\{"t":"run"/);
  });

  it('knows of its last run when it started, when it last wrote, what it sent and how much of that was retries', async () => {
    const path = join(tempDir(), 'runs.jsonl');
    const [a, b] = [device('fcm', 'ra'), device('fcm', 'rb')];
    const first = await JournalWriter.open(path, { campaign: 'c2', version: 'test' });
    await first.sent('fcm', [a]);
    await first.end({ campaign: 'c2', status: 'done' });
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
    const { lastRun, prior } = await readJournal(path);
    expect(lastRun).toMatchObject({ run: { campaign: 'c2' }, sends: 2, retries: 1 });
    expect(lastRun!.record).toBeUndefined(); // the second run died: no report of its own
    expect(lastRun!.startedAt).toBe(Date.parse(appended.findLast((line) => line.t === 'run').at));
    expect(lastRun!.lastWriteAt).toBe(appended.findLast((line) => line.t === 'sent').at);
    expect(prior.get(a.key)).toEqual({ state: 'uncertain', provider: 'fcm', line: 2 });
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
    await writer.end({ campaign: 'c3', status: 'done', note: 'the end <\n> with a line break inside' });
    await writer.close();
    expect(await endRecord(path)).toEqual({ campaign: 'c3', status: 'done', note: 'the end <\n> with a line break inside' });

    const died = await JournalWriter.open(path, { campaign: 'c3', version: 'test' });
    await died.sent('fcm', [device('fcm', 'after')]);
    await died.close();
    expect(await endRecord(path)).toBeUndefined();
    expect(await endRecord(join(tempDir(), 'none.jsonl'))).toBeUndefined();
  });
});
