import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { apnsToken, tempFile } from './helpers/tokens.js';

/**
 * One APNs provider token per key for the whole process (issue 34): every connection and every
 * sending thread sends the same JWT, renewed once when APNs says it expired; and the emulator
 * plays APNs's two rules on provider tokens, on a clock the test moves.
 */
const messageFile = tempFile('token-message.json', JSON.stringify({ title: 'Hi', body: 'there' }));
const minutes = (count: number) => count * 60_000;
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/provider-answers/apns.json', import.meta.url), 'utf8')) as Record<string, { status: number; body: unknown }>;

function send(emulator: Emulator, audience: string, workers = 2) {
  return runCli(['send', '--config', writeEmulatorConfig(emulator), '-a', audience, '-m', messageFile, '--no-journal', '--json', '--workers', String(workers)]);
}

describe('the APNs provider token', () => {
  let emulator: Emulator;
  beforeAll(async () => (emulator = await startEmulator({ apnsTopics: ['com.example.pushcast'] })));
  afterAll(() => emulator.close());

  it('is one JWT for every connection of every sending thread (--workers 2)', async () => {
    const { code, stdout } = await send(emulator, audienceFile('apns', 600, 'one-token'));
    expect(code, stdout).toBe(0);
    expect(JSON.parse(stdout).counts.accepted).toBe(600);
    const stats = emulator.stats();
    // More connections than one thread opens: both threads sent.
    expect(stats.http2Connections.apns).toBeGreaterThan(1);
    expect(stats.apnsProviderTokens).toBe(1);
  });
});

describe('an APNs provider token APNs calls expired', () => {
  let emulator: Emulator;
  beforeAll(async () => (emulator = await startEmulator({ apnsTopics: ['com.example.pushcast'] })));
  afterAll(() => emulator.close());

  it('is renewed once, for every thread, and the refused requests go again: each delivered once', async () => {
    // A first campaign signs the process's token. Then 30 minutes pass for this process and for
    // APNs, whose clock also runs 31 minutes ahead: to APNs the token is past an hour old, to this
    // machine 30 minutes, too young to be renewed by age (50) and old enough to be renewed (20).
    expect((await send(emulator, audienceFile('apns', 100, 'before'))).code).toBe(0);
    emulator.reset();
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + minutes(30));
    emulator.advanceClock(minutes(61));

    const { code, stdout } = await send(emulator, audienceFile('apns', 300, 'after')).finally(() => vi.restoreAllMocks());
    expect(code, stdout).toBe(0);
    const record = JSON.parse(stdout);
    const stats = emulator.stats();
    const expired = stats.rejected.apns.ExpiredProviderToken;
    expect(expired).toBeGreaterThan(0);
    // The old token, refused, and one new one: not one per connection or thread.
    expect(stats.apnsProviderTokens).toBe(2);
    expect(stats.accepted.apns).toBe(300);
    expect(stats.duplicates).toBe(0);
    expect(new Set(emulator.delivered().map(({ token }) => token))).toEqual(new Set(Array.from({ length: 300 }, (_, i) => apnsToken(`after${i}`))));
    // The report says what happened: every recipient accepted, nothing uncertain, and the refused
    // requests among its retries (with the streams a burst of resends had refused unread, resent free).
    expect(record.counts).toMatchObject({ targeted: 300, accepted: 300, uncertain: 0, failed: 0 });
    expect(record.retries).toBeGreaterThanOrEqual(expired);
    expect(record.sends).toBe(300 + record.retries);
  });
});

describe('a machine whose clock is more than an hour behind APNs', () => {
  // Each case its own emulator, so its own key: the process's signer for it is new, and in the
  // threaded case the threads' request to renew is what the main thread refuses.
  it.each([0, 2])('stops APNs with the clock to fix, not renewing a token minutes old into TooManyProviderTokenUpdates (--workers %i)', async (workers) => {
    const emulator = await startEmulator({ apnsTopics: ['com.example.pushcast'] });
    try {
      // Every token this machine signs is 90 minutes old to APNs the moment it is signed.
      emulator.skewClock(minutes(90));
      const { code, stdout, stderr } = await send(emulator, audienceFile('apns', 200, `slow-clock-${workers}`), workers);
      expect(code, stderr).toBe(2);
      const record = JSON.parse(stdout);
      expect(record.fatal).toMatchObject({ provider: 'apns', reason: 'clock-off' });
      expect(stderr).toContain("this machine's clock is off: APNs's runs at least");
      const stats = emulator.stats();
      expect(stats.rejected.apns.ExpiredProviderToken).toBeGreaterThan(0);
      expect(stats.rejected.apns.TooManyProviderTokenUpdates ?? 0).toBe(0);
      expect(stats.apnsProviderTokens).toBe(1);
      expect(stats.accepted.apns).toBe(0);
      // Nobody reached, nobody lost: each is failed (to send again) or not sent.
      expect(record.counts.accepted + record.counts.uncertain).toBe(0);
      expect(record.counts.failed + (record.skippedByReason['not-sent'] ?? 0)).toBe(200);
    } finally {
      await emulator.close();
    }
  });
});

describe("the emulator's rules on APNs provider tokens", () => {
  let emulator: Emulator;
  const sessions: ClientHttp2Session[] = [];
  beforeAll(async () => (emulator = await startEmulator()));
  afterAll(async () => {
    for (const session of sessions) session.close();
    await emulator.close();
  });

  /** A provider token signed with the emulator's key, issued `secondsAgo` ago. */
  const providerToken = (secondsAgo: number) => {
    const { key, keyId, teamId } = emulator.credentials.apns;
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'ES256', kid: keyId })}.${part({ iss: teamId, iat: Math.floor(Date.now() / 1000) - secondsAgo })}`;
    return `${unsigned}.${sign('sha256', Buffer.from(unsigned), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  const connection = () => {
    const session = connect(emulator.url, { ca: emulator.ca });
    sessions.push(session);
    return session;
  };
  /** One notification on `session` with `jwt`: the status and body APNs answered. */
  const push = (session: ClientHttp2Session, jwt: string) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': `/3/device/${apnsToken('rules')}`, 'apns-topic': 'com.example.pushcast', authorization: `bearer ${jwt}` });
      let status = 0;
      let body = '';
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
      stream.on('end', () => resolve({ status, body: body ? JSON.parse(body) : undefined }));
      stream.on('error', reject);
      stream.end(JSON.stringify({ aps: { alert: 'hi' } }));
    });

  it('a connection renewing its token within 20 minutes gets TooManyProviderTokenUpdates; past an hour a token is ExpiredProviderToken', async () => {
    const first = connection();
    const a = providerToken(0);
    const b = providerToken(60); // another token, issued a minute before the first
    expect((await push(first, a)).status).toBe(200);
    expect(await push(first, b)).toEqual(fixtures.TooManyProviderTokenUpdates);
    // The connection keeps the token it had; another connection may present the other.
    expect((await push(first, a)).status).toBe(200);
    expect((await push(connection(), b)).status).toBe(200);

    // 21 minutes later (on APNs's clock), a token signed now is a renewal it takes.
    emulator.advanceClock(minutes(21));
    const c = providerToken(0);
    expect((await push(first, c)).status).toBe(200);
    // 61 minutes after the first token was issued, it is expired; the one issued 40 minutes ago is not.
    emulator.advanceClock(minutes(40));
    expect(await push(connection(), a)).toEqual(fixtures.ExpiredProviderToken);
    expect((await push(first, c)).status).toBe(200);
    expect(emulator.stats().apnsProviderTokens).toBe(3);
  });
});
