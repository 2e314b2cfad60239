import { describe, expect, it } from 'vitest';
import { openAudience } from '../../src/audience/read-audience.js';
import { SeenSet } from '../../src/domain/seen-set.js';
import { hash64 } from '../../src/domain/hash.js';
import type { AudienceRow } from '../../src/domain/recipient.js';
import { InputError } from '../../src/errors.js';
import { apnsToken, emulatorSubscription, fcmToken, tempFile } from '../helpers/tokens.js';
import { subscriptionCell } from '../helpers/audience.js';

async function readAll(content: string | Buffer, options: { defaultProvider?: 'fcm' | 'apns' | 'webpush'; encoding?: string } = {}): Promise<AudienceRow[]> {
  const path = tempFile('audience.csv', content);
  const audience = await openAudience({ path, ...options });
  const rows: AudienceRow[] = [];
  for await (const row of audience.rows) rows.push(row);
  return rows;
}

function problems(rows: AudienceRow[]): Array<[number, string]> {
  return rows.flatMap((row) => (row.kind === 'problem' ? [[row.line, row.reason] as [number, string]] : []));
}

describe('audience CSV', () => {
  it('reports every kind of bad row with the line it starts on, and keeps the good rows', async () => {
    const sub = emulatorSubscription('s1');
    const csv = [
      'provider,token,name', // 1
      `fcm,${fcmToken(1)},Ann`, // 2
      `huawei,${fcmToken(2)},Bo`, // 3 unknown provider
      'fcm,,Cy', // 4 empty token
      `apns,${apnsToken(1).slice(1)},Di`, // 5 malformed: 63 hex digits
      'fcm,short,Ed', // 6 malformed: too short
      `apns,${apnsToken(2)}`, // 7 wrong column count
      `fcm,${fcmToken(1)},Ann again`, // 8 duplicate of line 2
      `webpush,${subscriptionCell({ ...sub, endpoint: 'http://insecure.example/x' })},Fa`, // 9 not https
      `webpush,"{not json",Gi`, // 10 malformed JSON subscription
      `apns,${apnsToken(3)},"unclosed`, // 11 quote never closed: the rest of the file is one bad record
      '',
    ].join('\n');
    const rows = await readAll(csv);
    expect(problems(rows)).toEqual([
      [3, 'unknown-provider'],
      [4, 'empty-token'],
      [5, 'malformed-token'],
      [6, 'malformed-token'],
      [7, 'wrong-column-count'],
      [8, 'duplicate'],
      [9, 'malformed-token'],
      [10, 'malformed-token'],
      [11, 'malformed-row'],
    ]);
    const duplicate = rows.find((row) => row.kind === 'problem' && row.reason === 'duplicate');
    expect(duplicate).toMatchObject({ detail: expect.stringContaining('line 2') });
    expect(rows.filter((row) => row.kind === 'device').map((row) => row.line)).toEqual([2]);
  });

  it('reads a UTF-8 BOM, CRLF line ends, quoted commas and newlines, and non-Latin text with exact line numbers', async () => {
    const csv = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(
        [
          'provider,token,name,note',
          `fcm,${fcmToken(1)},"سارا, ""خانم""","line one\r\nline two"`, // 2-3
          `apns,${apnsToken(1)},Дмитрий,王芳 🎉`, // 4
          '', // 5: blank
          `apns,${apnsToken(2).toUpperCase()},"<x>",`, // 6: upper-case token is normalised
          `fcm,${fcmToken(3)},bad,"still open`, // 7: unclosed quote
          '',
        ].join('\r\n'),
      ),
    ]);
    const rows = await readAll(csv);
    const devices = rows.filter((row) => row.kind === 'device');
    expect(devices.map((row) => row.line)).toEqual([2, 4, 6]);
    expect(devices[0]).toMatchObject({ provider: 'fcm', vars: { name: 'سارا, "خانم"', note: 'line one\r\nline two' } });
    expect(devices[1]).toMatchObject({ provider: 'apns', token: apnsToken(1), vars: { name: 'Дмитрий', note: '王芳 🎉' } });
    expect(devices[2]).toMatchObject({ token: apnsToken(2), vars: { name: '<x>' } });
    expect(devices[2].kind === 'device' && 'note' in devices[2].vars).toBe(false); // empty cell: no variable
    expect(problems(rows)).toEqual([[7, 'malformed-row']]);
  });

  it("takes a spreadsheet's text mark, the ' before a formula, off a free-text cell, and never alters a token, a user id or another column pushcast reads", async () => {
    const csv = [
      'provider,token,user_id,name,coupon',
      `fcm,${fcmToken(1)},'=u1,'=1+1,''@SUM(A1)`,
      `fcm,${fcmToken(2)},u2,'plain,'-20%`,
      `fcm,${fcmToken(3)},u3,"'\t=1+1",'`,
      '',
    ].join('\n');
    const devices = (await readAll(csv)).filter((row) => row.kind === 'device');
    expect(devices.map((row) => [row.userId, row.vars, row.fields])).toEqual([
      ["'=u1", { provider: 'fcm', user_id: "'=u1", name: '=1+1', coupon: "'@SUM(A1)" }, ['fcm', fcmToken(1), "'=u1", '=1+1', "'@SUM(A1)"]],
      ['u2', { provider: 'fcm', user_id: 'u2', name: "'plain", coupon: "'-20%" }, ['fcm', fcmToken(2), 'u2', "'plain", "'-20%"]],
      ['u3', { provider: 'fcm', user_id: 'u3', name: '\t=1+1', coupon: "'" }, ['fcm', fcmToken(3), 'u3', '\t=1+1', "'"]],
    ]);
    const users = (await readAll("user_id,name\n'=u1,'=1+1\n")).filter((row) => row.kind === 'user');
    expect(users.map((row) => [row.userId, row.vars])).toEqual([["'=u1", { user_id: "'=u1", name: '=1+1' }]]);
  });

  describe('spreadsheet exports: the delimiter and the encoding are found from the file', () => {
    /** Three rows as Excel writes them in a German locale: semicolons, a decimal comma, a name with an accent. */
    const rows = (delimiter: string) =>
      [
        `provider${delimiter}token${delimiter}name${delimiter}price`,
        `fcm${delimiter}${fcmToken(1)}${delimiter}Renée${delimiter}"4,99"`,
        `apns${delimiter}${apnsToken(1)}${delimiter}Zoë${delimiter}5`,
        '',
      ].join('\r\n');
    const read = async (content: Buffer, options: { encoding?: string } = {}) => {
      const audience = await openAudience({ path: tempFile('export.csv', content), ...options });
      const all: AudienceRow[] = [];
      for await (const row of audience.rows) all.push(row);
      return { format: audience.format, devices: all.filter((row) => row.kind === 'device') };
    };
    const utf16 = (text: string, endian: 'le' | 'be', bom: boolean) => {
      const le = Buffer.from(text, 'utf16le');
      const bytes = endian === 'le' ? le : Buffer.from(le).swap16();
      return bom ? Buffer.concat([Buffer.from(endian === 'le' ? [0xff, 0xfe] : [0xfe, 0xff]), bytes]) : bytes;
    };

    it.each([
      ['semicolons (Excel in German, French, Russian locales)', ';'],
      ['tabs (Excel\'s "Unicode text")', '\t'],
      ['commas', ','],
    ])('%s', async (_what, delimiter) => {
      const { format, devices } = await read(Buffer.from(rows(delimiter)));
      expect(format).toEqual({ encoding: 'utf-8', encodingFrom: 'default', delimiter });
      expect(devices.map((row) => [row.line, row.kind === 'device' && row.vars.name, row.kind === 'device' && row.vars.price])).toEqual([
        [2, 'Renée', '4,99'],
        [3, 'Zoë', '5'],
      ]);
    });

    it.each([
      ['UTF-16LE with a byte order mark', 'le', true, 'bom'],
      ['UTF-16LE without one', 'le', false, 'nul-bytes'],
      ['UTF-16BE with a byte order mark', 'be', true, 'bom'],
      ['UTF-16BE without one', 'be', false, 'nul-bytes'],
    ] as const)('%s, with every line number right', async (_what, endian, bom, from) => {
      const { format, devices } = await read(utf16(rows('\t'), endian, bom));
      expect(format).toEqual({ encoding: `utf-16${endian}`, encodingFrom: from, delimiter: '\t' });
      expect(devices.map((row) => [row.line, row.kind === 'device' && row.token, row.kind === 'device' && row.vars.name])).toEqual([
        [2, fcmToken(1), 'Renée'],
        [3, apnsToken(1), 'Zoë'],
      ]);
    });

    it('refuses Windows-1252 with the line and what to do, and reads it with --encoding', async () => {
      const latin = Buffer.from(rows(';'), 'latin1'); // "Renée" as Windows-1252 writes it: é is the byte 0xE9
      await expect(read(latin)).rejects.toThrow(/line 2: the file is not UTF-8 .*save it as "CSV UTF-8", or name its encoding, such as --encoding windows-1252/);
      const { format, devices } = await read(latin, { encoding: 'windows-1252' });
      expect(format).toEqual({ encoding: 'windows-1252', encodingFrom: 'given', delimiter: ';' });
      expect(devices.map((row) => row.kind === 'device' && row.vars.name)).toEqual(['Renée', 'Zoë']);
    });

    it('refuses an encoding it does not know, naming some it does', async () => {
      await expect(read(Buffer.from(rows(',')), { encoding: 'klingon' })).rejects.toThrow('--encoding: unknown encoding "klingon" (such as utf-8, utf-16le, windows-1252');
    });
  });

  it('takes the provider from a platform column and web push keys from endpoint,p256dh,auth columns', async () => {
    const sub = emulatorSubscription('s2');
    const rows = await readAll(
      [
        'platform,token,endpoint,p256dh,auth',
        `android,${fcmToken(1)},,,`,
        `ios,${apnsToken(1)},,,`,
        `web,,${sub.endpoint},${sub.keys.p256dh},${sub.keys.auth}`,
        `web,,${sub.endpoint},${sub.keys.p256dh},AAAA`,
        `blackberry,${fcmToken(2)},,,`,
      ].join('\n'),
    );
    expect(rows.map((row) => (row.kind === 'device' ? row.provider : row.kind === 'problem' ? row.reason : row.kind))).toEqual([
      'fcm',
      'apns',
      'webpush',
      'malformed-token',
      'unknown-provider',
    ]);
    expect(rows[2]).toMatchObject({ token: sub.endpoint, subscription: sub });
  });

  it('uses --provider for a token-only file and tells user-ID audiences apart', async () => {
    const tokens = await readAll(`token\n${fcmToken(1)}\n`, { defaultProvider: 'fcm' });
    expect(tokens).toMatchObject([{ kind: 'device', provider: 'fcm', line: 2 }]);

    const path = tempFile('users.csv', 'user_id,locale,name\nu1,fa,سارا\nu1,fa,again\n,en,empty\n');
    const audience = await openAudience({ path });
    expect(audience.shape).toBe('users');
    const rows: AudienceRow[] = [];
    for await (const row of audience.rows) rows.push(row);
    expect(rows).toMatchObject([
      { kind: 'user', userId: 'u1', locale: 'fa', line: 2 },
      { kind: 'problem', reason: 'duplicate', line: 3 },
      { kind: 'problem', reason: 'empty-token', line: 4 },
    ]);
  });

  it('refuses a file it cannot use, naming the file and the reason', async () => {
    await expect(openAudience({ path: '/nonexistent/audience.csv' })).rejects.toThrow(/audience \/nonexistent\/audience.csv: no such file/);
    await expect(openAudience({ path: tempFile('a.csv', '') })).rejects.toThrow(/is empty/);
    await expect(openAudience({ path: tempFile('a.csv', 'name,city\nA,B\n') })).rejects.toThrow(/no token, endpoint, subscription or user_id column/);
    await expect(openAudience({ path: tempFile('a.csv', 'token,name\nx,y\n') })).rejects.toThrow(/needs a provider .* or platform/);
    await expect(openAudience({ path: tempFile('a.csv', 'provider,token,Token\n') })).rejects.toBeInstanceOf(InputError);
    // An unreadable header is named as such, not skipped for the first data row to be taken as the header.
    await expect(openAudience({ path: tempFile('a.csv', 'provider,"tok"en,name\nfcm,abc,Ann\n') })).rejects.toThrow(/line 1: the header cannot be read: Invalid Closing Quote/);
  });
});

describe('a shard reads the whole file but remembers only its own recipients', () => {
  it('finds duplicates among the rows it owns, and lets the others through unremembered, for the engine to skip', async () => {
    const [a, b] = [fcmToken('owned'), fcmToken('other')];
    const path = tempFile('sharded.csv', `provider,token\nfcm,${a}\nfcm,${b}\nfcm,${a}\nfcm,${b}\n`);
    const read = async (owns: (hash: readonly [number, number]) => boolean) => {
      const rows: string[] = [];
      for await (const row of (await openAudience({ path, owns })).rows) rows.push(row.kind === 'problem' ? `${row.line} ${row.reason}` : `${row.line} ${row.kind}`);
      return rows;
    };
    expect(await read(() => true)).toEqual(['2 device', '3 device', '4 duplicate', '5 duplicate']);
    const ownedHash = await (async () => {
      for await (const row of (await openAudience({ path })).rows) if (row.kind === 'device') return row.hash.join();
      return '';
    })();
    // Line 5 repeats line 3's token, which this shard does not own: not remembered, not its problem.
    expect(await read((hash) => hash.join() === ownedHash)).toEqual(['2 device', '3 device', '4 duplicate', '5 device']);
  });
});

describe('the set of keys seen', () => {
  const keys = (count: number, salt: string) => Array.from({ length: count }, (_, i) => hash64(`${salt}:${i}`));

  it.each([
    ['growing by doubling (standard input)', undefined],
    ['sized for the whole file at its first growth', (share: { read: number }) => () => share.read],
  ])('remembers each key and its first line while %s, and mistakes no new key for a seen one', (_, sized) => {
    const share = { read: 0 };
    const seen = new SeenSet(sized?.(share));
    const count = 200_000;
    const first = keys(count, 'a');
    const added = first.map((hash, i) => {
      share.read = (i + 1) / count;
      return seen.addOrGetLine(hash, i + 2);
    });
    expect(added.filter((line) => line !== 0)).toEqual([]);
    const wrongLines = first.map((hash, i) => [i + 2, seen.addOrGetLine(hash, 999)]).filter(([line, got]) => got !== line);
    expect(wrongLines).toEqual([]);
    expect(keys(count, 'b').filter((hash) => seen.addOrGetLine(hash, 5) !== 0)).toEqual([]);
  });

  it('says "an earlier line" for a first line past what a slot holds (16,777,214)', () => {
    const seen = new SeenSet();
    const [far, near] = keys(2, 'lines');
    seen.addOrGetLine(far, 20_000_000);
    seen.addOrGetLine(near, 16_777_214);
    expect([seen.addOrGetLine(far, 1), seen.addOrGetLine(near, 1)]).toEqual([-1, 16_777_214]);
  });
});
