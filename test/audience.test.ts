import { describe, expect, it } from 'vitest';
import { openAudience } from '../src/audience/read-audience.js';
import type { AudienceRow } from '../src/domain/recipient.js';
import { InputError } from '../src/errors.js';
import { apnsToken, emulatorSubscription, fcmToken, tempFile } from './helpers/tokens.js';

async function readAll(content: string | Buffer, options: { defaultProvider?: 'fcm' | 'apns' | 'webpush' } = {}): Promise<AudienceRow[]> {
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
      `webpush,"${JSON.stringify({ ...sub, endpoint: 'http://insecure.example/x' }).replace(/"/g, '""')}",Fa`, // 9 not https
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
  });
});
