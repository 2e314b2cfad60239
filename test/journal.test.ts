import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysOf } from '../src/domain/recipient.js';
import { JournalWriter, readJournal } from '../src/engine/journal.js';
import { tempDir } from './helpers/tokens.js';

describe('the campaign journal', () => {
  it('tells settled, retry and uncertain recipients apart, and ignores a line torn by a crash', async () => {
    const path = join(tempDir(), 'journal', 'c1.jsonl');
    const [a, b, c, d] = ['fcm\u0000a', 'fcm\u0000b', 'apns\u0000c', 'webpush\u0000d'].map((identity) => keysOf(identity).key);
    const writer = await JournalWriter.open(path, { campaign: 'c1', version: 'test' });
    await writer.sent('fcm', [a, b]);
    writer.final({ k: a, p: 'fcm', o: 'accepted', line: 2 });
    writer.retry(b);
    await writer.sent('apns', [c]);
    await writer.sent('webpush', [d]);
    writer.final({ k: d, p: 'webpush', o: 'invalid', r: 'unsubscribed', line: 5, token: 'https://push.example/d' });
    await writer.close();
    appendFileSync(path, '{"t":"final","k":"' + c); // the process died mid-write

    const { prior, runs, torn } = await readJournal(path);
    expect(torn).toBe(true);
    expect(runs).toBe(1);
    expect(prior.get(a)).toMatchObject({ state: 'final', line: { o: 'accepted' } });
    expect(prior.get(b)).toEqual({ state: 'retry' });
    expect(prior.get(c)).toEqual({ state: 'uncertain' });
    expect(prior.get(d)).toMatchObject({ state: 'final', line: { o: 'invalid', r: 'unsubscribed', token: 'https://push.example/d' } });

    // A second run appends on a fresh line, after the torn one.
    const again = await JournalWriter.open(path, { campaign: 'c1', version: 'test' });
    await again.close();
    expect((await readJournal(path)).runs).toBe(2);
    expect(readFileSync(path, 'utf8')).toMatch(/"k":"[0-9a-f]*\n\{"t":"run"/);
  });

  it('reads a journal that does not exist yet as empty', async () => {
    expect((await readJournal(join(tempDir(), 'none.jsonl'))).prior.size).toBe(0);
  });
});
