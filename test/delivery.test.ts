import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivered } from '../src/emulator/emulator-state.js';
import { apnsConnections } from '../src/providers/apns/create-apns.js';
import { startEmulator, writeEmulatorConfig, type Emulator, type EmulatorOptions } from './helpers/emulator.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { audienceFile, mixedAudienceFile, subscriptionCell, tokenCell } from './helpers/audience.js';
import { apnsToken, emulatorSubscription, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

/**
 * pushcast's promises against a hostile provider, through the built CLI in a process of its own:
 * nobody gets a push twice unless --resend-uncertain asks for it, every recipient is accounted
 * for, the exit code says what happened, and the run ends by itself. The truth is what the
 * emulator received, not what pushcast says.
 */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function world(options: EmulatorOptions): Promise<{ emulator: Emulator; dir: string; config: string }> {
  emulator = await startEmulator(options);
  const dir = tempDir();
  return { emulator, dir, config: writeEmulatorConfig(emulator, {}, dir) };
}

/** Tokens delivered more than once, from the emulator's log of what it processed. */
function deliveredTwice(delivered: Delivered[]): string[] {
  const seen = new Map<string, number>();
  for (const { provider, token } of delivered) seen.set(`${provider} ${token}`, (seen.get(`${provider} ${token}`) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([key]) => key);
}

function totalOf(counts: Record<string, number>): number {
  return ['accepted', 'invalid', 'rejected', 'failed', 'uncertain', 'skipped'].reduce((sum, kind) => sum + counts[kind], 0);
}

describe('an answer that comes after the request timed out', () => {
  it.each([0, 2])('is uncertain, never resent by this run or the next, and resent only with --resend-uncertain (--workers %i)', async (workers) => {
    const { emulator, dir, config } = await world({ late: 1, lateMs: 2500, seed: 'late' });
    const audience = mixedAudienceFile(60, 'late');
    const send = (...extra: string[]) =>
      spawnCli(['send', '--config', config, '-a', audience, '-m', message, '--campaign', 'late', '--request-timeout', '1', '--json', '--workers', String(workers), ...extra], {
        cwd: dir,
      });

    const first = await send();
    expect(first.code, first.stderr).toBe(3); // nothing was accepted: the run reached nobody it knows of
    expect(first.stderr).toContain('nothing got through: 60 targeted, none accepted or found invalid (60 uncertain)');
    const record = JSON.parse(first.stdout);
    expect(record.counts).toMatchObject({ targeted: 60, accepted: 0, uncertain: 60, failed: 0 });
    expect(totalOf(record.counts)).toBe(60);
    expect(record.uncertainByReason).toEqual({ timeout: 60 });
    expect(record.uncertain[0]).toMatchObject({ line: expect.any(Number), provider: expect.any(String), reason: 'timeout' });
    // The emulator processed every request when it arrived: each was delivered, once.
    expect(emulator.delivered()).toHaveLength(60);
    expect(deliveredTwice(emulator.delivered())).toEqual([]);
    expect(emulator.stats().requests).toEqual({ fcm: 20, apns: 20, webpush: 20 });

    const again = await send();
    expect(again.code).toBe(3);
    expect(JSON.parse(again.stdout).uncertainByReason).toEqual({ 'unanswered-earlier': 60 });
    expect(emulator.stats().requests).toEqual({ fcm: 20, apns: 20, webpush: 20 });

    // Asked for, the resend happens, and the emulator shows what it costs: a second push each.
    const resent = await send('--resend-uncertain');
    expect(resent.code).toBe(0);
    expect(JSON.parse(resent.stdout).counts).toMatchObject({ accepted: 60, uncertain: 0 });
    expect(deliveredTwice(emulator.delivered())).toHaveLength(60);
  });
});

describe('a provider that takes requests and never answers', () => {
  it.each([0, 2])('ends the run after --stall-timeout: in flight uncertain, queued failed and listed to send again (--workers %i)', async (workers) => {
    const { emulator, dir, config } = await world({ stall: ['webpush'] });
    const failedOut = join(dir, 'retry-later.csv');
    const result = await spawnCli(
      [
        'send',
        '--config',
        config,
        '-a',
        audienceFile('webpush', 800, 'stall'),
        '-m',
        message,
        '--stall-timeout',
        '2',
        '--failed-out',
        failedOut,
        '--json',
        '--workers',
        String(workers),
      ],
      { cwd: dir },
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('stopped by webpush (provider-stalled)');
    expect(result.stderr).not.toContain('open handles');
    const record = JSON.parse(result.stdout);
    expect(record.status).toBe('stopped');
    // Web push keeps 200 in flight: those are maybe delivered; the emulator holds exactly those.
    expect(record.counts.uncertain).toBe(emulator.stats().stalled);
    expect(record.uncertainByReason).toEqual({ 'provider-stalled': record.counts.uncertain });
    expect(record.failedByReason).toEqual({ 'provider-stalled': record.counts.failed });
    // Every row is accounted for, and every one not sent is listed: the queued ones failed, those
    // never reached not-sent. How many were queued when the stall was called depends on how far
    // the reader had got, which a busy machine slows: together they are everyone not in flight.
    expect(record.counts.targeted + record.counts.skipped).toBe(800);
    const notReached = record.skippedByReason['not-sent'] ?? 0;
    expect(record.counts.failed + notReached).toBe(800 - emulator.stats().stalled);
    expect(notReached).toBe(record.unreached?.rows ?? 0);
    expect(record.counts.uncertain + record.counts.failed + notReached).toBe(800);
    const retryRows = readFileSync(failedOut, 'utf8').trim().split('\n');
    expect(retryRows).toHaveLength(record.counts.failed + notReached + 1);
    expect(emulator.delivered()).toEqual([]);
  });
});

describe('a push service over HTTP/1.1 that takes requests and never answers', () => {
  it.each([0, 2])('ends the run after --stall-timeout: the requests on a socket uncertain, those still waiting for one failed (--workers %i)', async (workers) => {
    const { emulator, dir, config } = await world({ stall: ['webpush'], http1Only: true });
    // 300 in flight in each sending thread (--concurrency is for them all) over at most 256
    // sockets a push service: 44 wait for a socket.
    const threads = Math.max(1, workers);
    const result = await spawnCli(
      [
        'send',
        '--config',
        config,
        '-a',
        audienceFile('webpush', 800, 'stall1'),
        '-m',
        message,
        '--stall-timeout',
        // Long enough for the threads to start and open their sockets on a loaded machine: the
        // push service must have read some requests for the test to be about them.
        '6',
        '--concurrency',
        String(300 * threads),
        '--json',
        '--workers',
        String(workers),
      ],
      { cwd: dir },
    );
    expect(result.code, result.stderr).toBe(2);
    const record = JSON.parse(result.stdout);
    // A request written whole to its socket may have reached the service: uncertain. The emulator
    // holds those it read; on a loaded machine it may not have read one before its socket closed,
    // and some sockets are still connecting when the stall is called.
    const held = emulator.stats().stalled;
    const uncertain = record.counts.uncertain;
    expect(emulator.stats().http2Requests.webpush).toBe(0);
    expect(held).toBeGreaterThan(0);
    expect(record.uncertainByReason).toEqual({ 'provider-stalled': uncertain });
    expect(uncertain, 'a request the push service holds was called never sent').toBeGreaterThanOrEqual(held);
    expect(uncertain, 'a request still waiting for a socket was called maybe sent').toBeLessThanOrEqual(256 * threads);
    // The 300 in flight in each thread, and any the lane still queued: all but those that went out come back failed.
    expect(record.counts.targeted).toBeGreaterThanOrEqual(300 * threads);
    expect(record.failedByReason).toEqual({ 'provider-stalled': record.counts.targeted - uncertain });
    expect(emulator.delivered()).toEqual([]);
  });
});

describe('a GOAWAY storm: every stream refused, every connection told to go away', () => {
  // 150 recipients are three batches of 50 for APNs and web push, two of them in flight on one
  // connection when the GOAWAY comes: streams opened after it fail client-side, and are refused too.
  it.each([0, 2])('resends refused streams with backoff, opens a bounded number of connections, and ends with exit 3 (--workers %i)', async (workers) => {
    const { emulator, dir, config } = await world({ goawayStorm: true });
    const recipients = 150;
    const runs = await Promise.all(
      (['fcm', 'apns', 'webpush'] as const).map((provider) =>
        spawnCli(['send', '--config', config, '-a', audienceFile(provider, recipients, 'storm'), '-m', message, '--no-journal', '--json', '--workers', String(workers)], {
          cwd: dir,
        }),
      ),
    );
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(3);
      const record = JSON.parse(run.stdout);
      expect(record.counts).toMatchObject({ targeted: recipients, failed: recipients });
      expect(record.failedByReason).toEqual({ 'refused-stream': recipients });
      // Refusals while the storm is young are free (how many a recipient gets depends on which wave
      // its batch falls in); then each spends its five attempts. Every request but a recipient's
      // first is counted as a retry.
      expect(record.sends - record.retries).toBe(recipients);
      expect(record.retries).toBeGreaterThan(recipients * 4);
      expect(run.stderr).not.toContain('open handles');
    }
    expect(emulator.delivered()).toEqual([]);
    // Each wave on one new connection at most for each FCM batch (one of 150), web push batch (three
    // of 50) and APNs connection (up to apnsConnections a thread), over 3 free resends and 5
    // attempts, twice over (a batch refused in a wave that does not raise the streak resends free
    // again): far from one per refused stream (about 8 x 450). Plus OAuth.
    const apnsOpen = apnsConnections * Math.max(1, workers);
    expect(emulator.stats().connections).toBeLessThanOrEqual((1 + apnsOpen + 3) * (3 + 5) * 2 + 4 + workers);
  });
});

describe('APNs throttling a connection to one stream after each rejection (pushy #732)', () => {
  it('waits for the requests queued behind the limit, which have not left, instead of abandoning them as maybe delivered', async () => {
    // 100 go out at once (--concurrency 100), over 4 connections, and are all rejected, which cuts
    // each connection to one stream; the last 20 then go one at a time on each, 250 ms apiece, the
    // fifth on each past the 1 s request timeout.
    const count = 120;
    const dead = [...Array(count - 2)].map((_, i) => apnsToken(`throttle${i}`));
    const { emulator, dir, config } = await world({ latencyMs: 250, dead, apnsThrottle: true });
    const run = await spawnCli(
      ['send', '--config', config, '-a', audienceFile('apns', count, 'throttle'), '-m', message, '--request-timeout', '1', '--concurrency', '100', '--no-journal', '--json'],
      {
        cwd: dir,
      },
    );
    const record = JSON.parse(run.stdout);
    expect(record.counts).toMatchObject({ targeted: count, accepted: 2, invalid: count - 2, uncertain: 0, failed: 0 });
    expect(emulator.stats().requests.apns).toBe(count);
    expect(emulator.delivered()).toHaveLength(record.counts.accepted);
    expect(deliveredTwice(emulator.delivered())).toEqual([]);
  });
});

describe('APNs throttling, at scale', () => {
  it('a campaign with two tokens in five dead keeps its connections, and every request is answered once', async () => {
    // Thousands of refused streams over the lowered limit, each resent: Node's guards against
    // abusive clients closed the emulator's session with answers owed, until it lifted them.
    const count = 5000;
    const { emulator, dir, config } = await world({ latencyMs: 1, unregistered: 0.4, seed: 'calm', apnsThrottle: true });
    const run = await spawnCli(['send', '--config', config, '-a', audienceFile('apns', count, 'calm'), '-m', message, '--no-journal', '--json'], { cwd: dir });
    const record = JSON.parse(run.stdout);
    expect(record.counts).toMatchObject({ targeted: count, uncertain: 0, failed: 0 });
    expect(record.counts.accepted + record.counts.invalid).toBe(count);
    expect(emulator.stats().requests.apns).toBe(count);
    expect(emulator.stats().http2Connections.apns).toBeLessThanOrEqual(apnsConnections); // none closed and opened again
    expect(deliveredTwice(emulator.delivered())).toEqual([]);
  });
});

describe('streams reset before any answer', () => {
  // firebase-admin waits for an answer's end or an error; a stream reset with NO_ERROR gives it
  // neither, and one refused before its body was written gives an error it ignores. Without
  // pushcast's hook its call never settled and the process ended mid-campaign.
  it.each([
    ['refused-stream', 'failed', { failedByReason: { 'refused-stream': 20 } }],
    ['no-error', 'uncertain', { uncertainByReason: { 'no-answer': 20 } }],
  ] as const)('with %s: every call settles, as %s', async (code, kind, byReason) => {
    const { emulator, dir, config } = await world({ resetUnanswered: code });
    const runs = await Promise.all(
      (['fcm', 'apns', 'webpush'] as const).map((provider) =>
        spawnCli(['send', '--config', config, '-a', audienceFile(provider, 20, 'reset'), '-m', message, '--no-journal', '--json'], { cwd: dir }),
      ),
    );
    for (const run of runs) {
      expect(run.stderr).not.toContain('internal error');
      expect(run.code, run.stderr).toBe(3);
      expect(JSON.parse(run.stdout)).toMatchObject({ counts: { targeted: 20, [kind]: 20 }, ...byReason });
    }
    expect(emulator.stats().refused).toBeGreaterThan(0);
    expect(emulator.delivered()).toEqual([]);
  });
});

describe('one retry layer', () => {
  it('puts on the wire exactly the attempts it counts, under a steady 503', async () => {
    const count = 10;
    const tokens = {
      fcm: [...Array(count)].map((_, i) => fcmToken(`503-${i}`)),
      apns: [...Array(count)].map((_, i) => apnsToken(`503-${i}`)),
      webpush: [...Array(count)].map((_, i) => emulatorSubscription(`503-${i}`).endpoint),
    };
    const forced = Object.fromEntries(
      Object.values(tokens)
        .flat()
        .map((token) => [token, { status: 503, reason: 'UNAVAILABLE', retryAfterSeconds: 0 }]),
    );
    const { emulator, dir, config } = await world({ forced });
    const rows = [
      'provider,token,name',
      ...tokens.fcm.map((t) => `fcm,${t},U`),
      ...tokens.apns.map((t) => `apns,${t},U`),
      ...[...Array(count)].map((_, i) => `webpush,${tokenCell('webpush', `503-${i}`)},U`),
    ];
    const result = await spawnCli(['send', '--config', config, '-a', tempFile('503.csv', `${rows.join('\n')}\n`), '-m', message, '--no-journal', '--json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(3);
    const record = JSON.parse(result.stdout);
    expect(record.counts).toMatchObject({ targeted: 3 * count, failed: 3 * count });
    // Five attempts each, four of them retries: and that is what reached the emulator, no more.
    expect(record.retries).toBe(3 * count * 4);
    expect(emulator.stats().requests).toEqual({ fcm: count * 5, apns: count * 5, webpush: count * 5 });
  });
});

describe('a provider that refuses connections', () => {
  it('retries what provably never left, then fails it, and exits 3', async () => {
    const { emulator, dir } = await world({});
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const nowhere = `https://127.0.0.1:${closedPort}`;
    const config = writeEmulatorConfig(emulator, { fcm: { endpoint: nowhere }, apns: { endpoint: nowhere }, webpush: { endpoint: nowhere } }, dir);
    const result = await spawnCli(['send', '--config', config, '-a', mixedAudienceFile(30, 'refused'), '-m', message, '--no-journal', '--json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(3);
    const record = JSON.parse(result.stdout);
    expect(record.counts).toMatchObject({ targeted: 30, failed: 30, uncertain: 0 });
    expect(record.failedByReason).toEqual({ 'connection-failed': 30 });
    expect(record.retries).toBe(30 * 4);
    expect(result.stderr).toContain('nothing got through');
  });
});

describe('a server certificate this machine does not trust', () => {
  it('stops before anything is sent, naming the certificate problem and the ca setting', async () => {
    const { emulator, dir } = await world({});
    for (const provider of ['apns', 'webpush'] as const) {
      const untrusting = { [provider]: emulator.config()[provider] };
      const config = join(dir, `${provider}.json`);
      writeFileSync(config, JSON.stringify(untrusting));
      const result = await spawnCli(['send', '--config', config, '-a', audienceFile(provider, 20, 'tls'), '-m', message, '--no-journal'], { cwd: dir });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/certificate was refused \(self-signed certificate\).*set ca to the PEM/);
      expect(result.stderr).not.toMatch(/--use-system-ca/); // Node 24+'s own advice: one piece of advice is ours
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });
  });
});

describe('a provider host that does not resolve', () => {
  it('stops before anything is sent, in one line, for each host pushcast resolves', async () => {
    // A .invalid name never resolves (RFC 6761): getaddrinfo answers ENOTFOUND (in about 10 ms where this was written).
    const { emulator, dir } = await world({});
    const nowhere = 'https://pushcast-test.invalid';
    const keyFromNowhere = JSON.stringify({ ...emulator.credentials.serviceAccount, token_uri: `${nowhere}/token` });
    const cases: Array<[Partial<Record<'fcm' | 'apns' | 'webpush', object>>, string]> = [
      [{ apns: { endpoint: nowhere } }, 'apns.endpoint'],
      [{ fcm: { serviceAccount: keyFromNowhere } }, "the service account's token_uri"],
      [{ fcm: { endpoint: nowhere } }, 'fcm.endpoint'],
      [{ webpush: { endpoint: nowhere } }, 'webpush.endpoint'],
    ];
    // The other providers still send to the emulator, which stays ready to take their rows.
    for (const [changes, setting] of cases) {
      const config = writeEmulatorConfig(emulator, changes, dir);
      // With --workers the check runs in a sending thread, and its error crosses back to the main one.
      for (const workers of ['0', '2']) {
        const result = await spawnCli(['send', '--config', config, '-a', mixedAudienceFile(30, 'nowhere'), '-m', message, '--no-journal', '--workers', workers], { cwd: dir });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toBe(`pushcast: cannot resolve pushcast-test.invalid: no network or DNS, or ${setting} names a wrong host\n`);
        expect(result.stdout).toBe('');
      }
    }
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });
    expect(emulator.delivered()).toEqual([]);
  });
});

describe('401 and 403 answers', () => {
  it('from one subscription reject that row only; the rest of the campaign goes', async () => {
    const refused = emulatorSubscription('refused-1');
    const { emulator, dir, config } = await world({
      forced: { [refused.endpoint]: { status: 401, reason: 'unauthorized' }, [fcmToken('apns-key-gone')]: { status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' } },
    });
    const rows = ['provider,token,name', `webpush,${subscriptionCell(refused)},R`, `fcm,${fcmToken('apns-key-gone')},R`];
    for (let i = 0; i < 19; i++) rows.push(`webpush,${tokenCell('webpush', `ok-${i}`)},U`, `fcm,${fcmToken(`ok-${i}`)},U`);
    const result = await spawnCli(['send', '--config', config, '-a', tempFile('a.csv', `${rows.join('\n')}\n`), '-m', message, '--no-journal', '--json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout);
    expect(record.status).toBe('done');
    expect(record.counts).toMatchObject({ targeted: 40, accepted: 38, rejected: 2 });
    expect(record.rejectedByReason).toEqual({ 'credentials-refused': 1, 'third-party-credentials-refused': 1 });
    expect(emulator.stats().accepted).toMatchObject({ fcm: 19, webpush: 19 });
  });

  it('from every recipient of a provider stop the campaign as a wrong credential, pruning nobody', async () => {
    const { emulator, dir, config } = await world({ unauthorized: 1 });
    const result = await spawnCli(['send', '--config', config, '-a', audienceFile('apns', 30, 'all403'), '-m', message, '--no-journal', '--json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('stopped by apns (credentials-refused-for-all)');
    expect(result.stderr).toContain('(answered: InvalidProviderToken)');
    const record = JSON.parse(result.stdout);
    expect(record.counts).toMatchObject({ invalid: 0, rejected: 0 });
    expect(record.counts.failed).toBeGreaterThanOrEqual(3);
    expect(emulator.stats().accepted.apns).toBe(0);
  });
});

describe('a run that could send nothing', () => {
  it('exits 3 when every row was skipped', async () => {
    const { emulator, dir, config } = await world({});
    const huge = tempFile('huge.json', JSON.stringify({ title: 'Hi {{name}}', body: 'x'.repeat(5000) }));
    const result = await spawnCli(['send', '--config', config, '-a', mixedAudienceFile(9, 'huge'), '-m', huge, '--no-journal', '--quiet'], { cwd: dir });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('no row could be sent: 9 rows read, every one skipped (payload-too-large 9)');
    expect(emulator.stats().requests).toEqual({ fcm: 0, apns: 0, webpush: 0 });
  });
});

describe('batches as measured', () => {
  // One journal line a batch: FCM's sendEach takes 100, the streams FCM allows on the connection
  // each call opens; APNs and web push go in batches of 50, which keep requests flowing where 500
  // stalled them (1.11x and 1.39x faster).
  it.each([
    ['fcm', 250, [100, 100, 50]],
    ['apns', 120, [50, 50, 20]],
    ['webpush', 120, [50, 50, 20]],
  ] as const)('%s: %i recipients go out in batches of %j', async (provider, count, sizes) => {
    const { dir, config } = await world({});
    const run = await spawnCli(['send', '--config', config, '-a', audienceFile(provider, count, `batches-${provider}`), '-m', message, '--campaign', 'batches', '--json'], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    const sent = readFileSync(join(dir, '.pushcast', 'batches.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { t: string; k?: string[] })
      .filter((entry) => entry.t === 'sent');
    expect(sent.map((entry) => entry.k!.length).sort((a, b) => b - a)).toEqual(sizes);
  });
});
