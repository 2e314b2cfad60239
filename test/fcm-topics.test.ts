import { createSign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { fcmToken, tempDir } from './helpers/tokens.js';

/**
 * FCM topics and conditions (issue 34, item 5): `send --topic` and `--condition` make one request
 * that FCM fans out, checked before anything is sent and sent at most once; `devices topics
 * subscribe` puts the registry's FCM devices on a topic through the Instance ID API, 1,000 a
 * request, after a backoff when FCM throttles. Through the CLI, against the emulator.
 */

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: true });
(addFormats as unknown as typeof addFormats.default)(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(new URL('../schema/report-v1.schema.json', import.meta.url), 'utf8')) as object);

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** A folder with the emulator's config and a message file; `cli` runs pushcast there. */
function project(message: Record<string, unknown> = { title: 'Breaking', body: 'Read all about it', data: { section: 'world' } }) {
  const dir = tempDir();
  writeEmulatorConfig(emulator, {}, dir);
  writeFileSync(join(dir, 'm.json'), JSON.stringify(message));
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  return { dir, cli };
}

describe('send --topic and --condition: one FCM message for every subscriber', () => {
  it('a topic send: the emulator receives exactly one message, for topic news, with the rendered notification and the label', async () => {
    const { cli } = project({ title: 'Breaking', body: '{{default who "Everyone"}}: read all about it' });
    const sent = await cli('send', '--topic', 'news', '-m', 'm.json', '--campaign', 'morning-news', '--json');
    expect(sent.code, sent.stderr).toBe(0);
    const sends = emulator.fcmTopics.sends;
    expect(sends).toHaveLength(1);
    expect(sends[0].topic).toBe('news');
    expect(sends[0].message.notification).toEqual({ title: 'Breaking', body: 'Everyone: read all about it' });
    // firebase-admin's send() writes the v1 API's JSON in its camelCase form, which FCM reads as well.
    expect(sends[0].message.fcmOptions).toEqual({ analyticsLabel: 'morning-news' });
    expect(emulator.delivered()).toHaveLength(0);
    const record = JSON.parse(sent.stdout) as { broadcast: Record<string, unknown>; counts: { targeted: number }; fcm: { analyticsLabel: string } };
    expect(record.broadcast).toMatchObject({ provider: 'fcm', target: { kind: 'topic', value: 'news' }, requests: 1, outcome: 'accepted', perDeviceOutcome: false });
    expect(record.broadcast.messageId).toBe(sends[0].id);
    expect(record.counts.targeted).toBe(0);
    expect(record.fcm.analyticsLabel).toBe('morning-news');
    expect(validate(record), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a condition send: the emulator receives the condition as given, and the report says one request and no per-device outcome', async () => {
    const { cli } = project();
    const condition = "'news' in topics && ('fa' in topics || 'ar' in topics)";
    const sent = await cli('send', '--condition', condition, '-m', 'm.json');
    expect(sent.code, sent.stderr).toBe(0);
    expect(emulator.fcmTopics.sends.map((send) => send.condition)).toEqual([condition]);
    expect(sent.stdout).toContain('requests     1');
    expect(sent.stdout).toContain(`message id   ${emulator.fcmTopics.sends[0].id}`);
    expect(sent.stdout).toMatch(/per device {3}none: one answer for every device/);
  });

  it.each([
    ['six topics', "'a' in topics || 'b' in topics || 'c' in topics || 'd' in topics || 'e' in topics || 'f' in topics", /column 86: this is topic 6/],
    ['an unclosed parenthesis', "'news' in topics && ('fa' in topics || 'ar' in topics", /column 54: the parenthesis at column 21 is not closed/],
    ['a parenthesis too many', "'news' in topics)", /column 17: this parenthesis closes none that is open/],
  ])('a condition with %s is refused before anything is sent, naming the column', async (_, condition, error) => {
    const { cli } = project();
    const sent = await cli('send', '--condition', condition, '-m', 'm.json');
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(error);
    expect(emulator.fcmTopics.sends).toHaveLength(0);
    expect(emulator.stats().oauthTokensIssued).toBe(0);
  });

  it('a placeholder with no default is refused before anything is sent: a topic message is rendered once for all', async () => {
    const { cli } = project({ title: 'Hi {{name}}', body: 'news' });
    const sent = await cli('send', '--topic', 'news', '-m', 'm.json');
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('{{name}} would differ per device');
    expect(emulator.fcmTopics.sends).toHaveLength(0);
  });

  it('the same command twice pushes once: the second run sends nothing and says the first did', async () => {
    const { cli } = project();
    const first = await cli('send', '--topic', 'news', '-m', 'm.json', '--json');
    expect(first.code, first.stderr).toBe(0);
    const second = await cli('send', '--topic', 'news', '-m', 'm.json', '--json');
    expect(second.code, second.stderr).toBe(0);
    expect(emulator.fcmTopics.sends).toHaveLength(1);
    const again = JSON.parse(second.stdout) as { broadcast: Record<string, unknown> };
    expect(again.broadcast).toMatchObject({ requests: 0, by: 'earlier-run', outcome: 'accepted', messageId: emulator.fcmTopics.sends[0].id });
    expect(second.stderr).toContain('an earlier run sent this message');
    expect(validate(again), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a request that got no answer is uncertain, and a re-run sends nothing unless --resend-uncertain', async () => {
    const { cli, dir } = project();
    // The emulator's FCM holds the request and never answers: pushcast gives up after --request-timeout.
    emulator.behaviour.stall.add('fcm');
    try {
      const first = await cli('send', '--topic', 'news', '-m', 'm.json', '--campaign', 'stalled', '--request-timeout', '1s');
      expect(first.code).toBe(3);
      expect(first.stderr).toContain('may have gone out');
    } finally {
      emulator.behaviour.stall.delete('fcm');
    }
    expect(JSON.parse(readFileSync(join(dir, '.pushcast', 'stalled.broadcast.json'), 'utf8'))).toMatchObject({ state: 'uncertain' });
    const second = await cli('send', '--topic', 'news', '-m', 'm.json', '--campaign', 'stalled');
    expect(second.code).toBe(3);
    expect(second.stderr).toContain('--resend-uncertain');
    expect(emulator.fcmTopics.sends).toHaveLength(0);
    const third = await cli('send', '--topic', 'news', '-m', 'm.json', '--campaign', 'stalled', '--resend-uncertain');
    expect(third.code, third.stderr).toBe(0);
    expect(emulator.fcmTopics.sends).toHaveLength(1);
  });
});

describe('the emulator checks a message target as FCM does', () => {
  it('a message with both a token and a topic is INVALID_ARGUMENT', async () => {
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: emulatorAssertion() }).toString();
    const token = await fetchJson(`${emulator.url}/token`, 'POST', form, 'application/x-www-form-urlencoded');
    const answer = await fetchJson(
      `${emulator.url}/v1/projects/pushcast-emulator/messages:send`,
      'POST',
      JSON.stringify({ message: { token: fcmToken('both'), topic: 'news', notification: { title: 'x' } } }),
      'application/json',
      String(token.body.access_token),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
    expect(emulator.fcmTopics.sends).toHaveLength(0);
    expect(emulator.delivered()).toHaveLength(0);
  });
});

describe('devices topics subscribe: the registry on an FCM topic', () => {
  /** A folder with the emulator's config and a registry of `count` FCM devices in channel news. */
  async function registryOf(count: number) {
    const { dir, cli } = project();
    const rows = Array.from({ length: count }, (_, i) => `fcm,${fcmToken(`t${i}`)},u${i},news`);
    writeFileSync(join(dir, 'devices.csv'), `provider,token,user_id,channels\n${rows.join('\n')}\n`);
    expect((await cli('devices', 'import', 'devices.csv')).code).toBe(0);
    return { dir, cli };
  }

  it('2,500 devices go in 3 batch requests, and the emulator holds them all subscribed', async () => {
    const { cli } = await registryOf(2500);
    const done = await cli('devices', 'topics', 'subscribe', '--topic', 'news', '--channel', 'news', '--json');
    expect(done.code, done.stderr).toBe(0);
    expect(emulator.fcmTopics.batchRequests.map((request) => [request.op, request.topic, request.tokens, request.status])).toEqual([
      ['batchAdd', 'news', 1000, 200],
      ['batchAdd', 'news', 1000, 200],
      ['batchAdd', 'news', 500, 200],
    ]);
    expect(new Set(emulator.fcmTopics.subscribers('news'))).toEqual(new Set(Array.from({ length: 2500 }, (_, i) => fcmToken(`t${i}`))));
    expect(JSON.parse(done.stdout)).toMatchObject({ tokens: 2500, done: 2500, requests: 3, errors: [] });
  });

  it("each token FCM refuses is reported with the batch answer's reason; unsubscribe takes them off", async () => {
    const { cli } = await registryOf(3);
    emulator.behaviour.dead.add(fcmToken('t1'));
    try {
      const done = await cli('devices', 'topics', 'subscribe', '--topic', 'news', '--channel', '*', '--json');
      expect(done.code, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ done: 2, errors: [{ token: fcmToken('t1'), reason: 'NOT_FOUND' }], errorsByReason: { NOT_FOUND: 1 } });
    } finally {
      emulator.behaviour.dead.delete(fcmToken('t1'));
    }
    expect(emulator.fcmTopics.subscribers('news').sort()).toEqual([fcmToken('t0'), fcmToken('t2')].sort());
    const off = await cli('devices', 'topics', 'unsubscribe', '--topic', 'news', '--user', 'u0');
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain('1 of 1 FCM device unsubscribed from topic news in 1 request');
    expect(emulator.fcmTopics.subscribers('news')).toEqual([fcmToken('t2')]);
  });

  it('a RESOURCE_EXHAUSTED answer is tried again after a backoff, and every device ends subscribed', async () => {
    const { cli } = await registryOf(10);
    emulator.fcmTopics.exhaustedAnswers = 1;
    const done = await cli('devices', 'topics', 'subscribe', '--topic', 'news', '--channel', 'news', '--json');
    expect(done.code, done.stderr).toBe(0);
    expect(emulator.fcmTopics.batchRequests.map((request) => request.status)).toEqual([429, 200]);
    expect(JSON.parse(done.stdout)).toMatchObject({ requests: 2, retries: 1, done: 10 });
    expect(emulator.fcmTopics.subscribers('news')).toHaveLength(10);
  });
});

async function fetchJson(url: string, method: string, body: string, type: string, bearer?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: emulator.ca, headers: { 'content-type': type, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The JWT-bearer assertion of the emulator's service account, as a client signs it. */
function emulatorAssertion(): string {
  const account = emulator.credentials.serviceAccount;
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iss: account.client_email, aud: account.token_uri, iat: now, exp: now + 3600, scope: 'x' })}`;
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(account.private_key, 'base64url')}`;
}
