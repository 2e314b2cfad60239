import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, startEmulatorProcess, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { audienceFile } from './helpers/audience.js';
import { tempDir, tempFile } from './helpers/tokens.js';
import { connectionStreamLimit } from '../src/emulator/exchange.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const simpleMessage = tempFile('simple.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News', group: 'news' }));

describe('pushcast emulator, the command', () => {
  it('listens, writes a config pushcast can send with, counts what arrives, and stops on SIGINT', async () => {
    const dir = tempDir();
    const { child, output: printed } = await startEmulatorProcess(dir, ['--unregistered', '25%', '--seed', 'cli']);
    const output = printed();
    const url = /on (https:\/\/127\.0\.0\.1:\d+)/.exec(output)![1];
    expect(output).toContain('config written to pushcast.emulator.json');

    const sent = await runCli(['send', '--config', join(dir, 'pushcast.emulator.json'), '-a', `${root}fixtures/audience.csv`, '-m', `${root}fixtures/message.json`, '--json']);
    expect(sent.code).toBe(0);
    const summary = JSON.parse(sent.stdout);
    const config = JSON.parse(readFileSync(join(dir, 'pushcast.emulator.json'), 'utf8')) as { ca: string };
    const stats = await new Promise<{ accepted: Record<string, number> }>((resolve, reject) => {
      get(`${url}/_emulator/stats`, { ca: config.ca }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(JSON.parse(body)));
      }).on('error', reject);
    });
    expect(stats.accepted).toEqual({ fcm: summary.providers.fcm.accepted, apns: summary.providers.apns.accepted, webpush: summary.providers.webpush.accepted });
    expect(summary.counts.invalid).toBeGreaterThan(0);

    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});

describe('npm start', () => {
  it('sends the bundled campaign through an in-process emulator and exits on its own', () => {
    const result = spawnSync(process.execPath, ['bin/pushcast.js', 'demo', '--json'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ campaign: 'demo', status: 'done', counts: { targeted: 13, skipped: 6 } });
    expect(summary.counts.accepted + summary.counts.invalid).toBe(13);
  });
});

describe('a harsh world: dropped connections, 429, 503 and dead tokens', () => {
  let emulator: Emulator | undefined;
  afterEach(async () => {
    await emulator?.close();
    emulator = undefined;
  });
  const harsh = { seed: 'harsh', unregistered: 0.05, tooManyRequests: 0.05, unavailable: 0.05, dropConnection: 0.05, retryAfterSeconds: 0 };

  /** Sends 400 to one provider; returns the summary and what the emulator saw. */
  async function sendHarsh(provider: 'fcm' | 'apns' | 'webpush') {
    const { code, stdout } = await runCli(['send', '--config', writeEmulatorConfig(emulator!), '-a', audienceFile(provider, 400, 'h'), '-m', simpleMessage, '--json']);
    expect(code, stdout).toBe(0);
    const summary = JSON.parse(stdout);
    const stats = emulator!.stats();
    expect(stats.duplicates).toBe(0);
    expect(stats.drops).toBeGreaterThan(0);
    expect(summary.providers[provider].accepted).toBe(stats.accepted[provider]);
    const dead = new Set(
      emulator!
        .attemptLog()
        .filter((attempt) => attempt.status === 404 || attempt.status === 410)
        .map((attempt) => attempt.token),
    );
    expect(summary.providers[provider].invalid).toBe(dead.size);
    expect(summary.retries).toBeGreaterThan(0);
    return { counts: summary.providers[provider], stats };
  }

  // HTTP/2 says which streams a dropped connection never processed (GOAWAY, REFUSED_STREAM): those
  // are resent. Web push goes over HTTP/2 too where the push service offers it, as the emulator does.
  it('over HTTP/2, every live token is accepted exactly once: what a drop left unprocessed is resent', async () => {
    emulator = await startEmulator(harsh);
    for (const provider of ['fcm', 'apns', 'webpush'] as const) {
      emulator.reset();
      const { counts, stats } = await sendHarsh(provider);
      expect(stats.http2Requests[provider]).toBe(stats.requests[provider]);
      expect(counts).toMatchObject({ targeted: 400, failed: 0, uncertain: 0 });
      expect(counts.accepted + counts.invalid).toBe(400);
    }
  });

  // A connection cut without a GOAWAY (a load balancer, the network) says nothing of what was
  // processed: each stream that was out stays uncertain, and there are at most as many as the
  // server's limit of concurrent streams. Those still queued behind that limit never left, and go
  // out again. FCM sends 300 to a call here, so that 200 of each call's requests wait their turn.
  it.each([
    ['fcm', { fcm: { batchSize: 300 } }],
    ['webpush', {}],
  ] as const)('%s: a connection cut without a word leaves uncertain only the streams that were out, and resends the queued ones', async (provider, changes) => {
    emulator = await startEmulator({ seed: 'cut', dropConnection: 0.01, dropBy: 'cut', latencyMs: 5 });
    const audience = audienceFile(provider, 1000, 'cut');
    const { code, stdout } = await runCli(['send', '--config', writeEmulatorConfig(emulator, changes), '-a', audience, '-m', simpleMessage, '--no-journal', '--json']);
    expect(code, stdout).toBe(0);
    const summary = JSON.parse(stdout);
    const counts = summary.providers[provider];
    const stats = emulator.stats();
    expect(stats.drops).toBeGreaterThan(0);
    expect(stats.duplicates).toBe(0);
    expect(counts).toMatchObject({ targeted: 1000, invalid: 0, rejected: 0, failed: 0 });
    expect(counts.accepted + counts.uncertain).toBe(1000);
    expect(counts.accepted).toBeLessThanOrEqual(stats.accepted[provider]);
    expect(counts.uncertain).toBeGreaterThan(0);
    expect(counts.uncertain).toBeLessThanOrEqual(stats.drops * connectionStreamLimit);
    expect(summary.retries).toBeGreaterThan(0);
  });

  // A push service that offers HTTP/1.1 only: a reset after the request was written says nothing, so maybe delivered.
  it('web push over HTTP/1.1 (a push service without h2): a reset connection leaves its request uncertain, never resent', async () => {
    emulator = await startEmulator({ ...harsh, http1Only: true });
    const { counts, stats } = await sendHarsh('webpush');
    expect(stats.http2Requests.webpush).toBe(0);
    expect(counts).toMatchObject({ targeted: 400, failed: 0, uncertain: stats.drops });
    expect(counts.accepted + counts.invalid + stats.drops).toBe(400);
  });
});

/** Whether this machine has an IPv6 loopback to listen on. */
const ipv6 = await new Promise<boolean>((resolve) => {
  const server = createServer()
    .listen(0, '::1', () => server.close(() => resolve(true)))
    .on('error', () => resolve(false));
});

describe('an endpoint that is an IPv6 literal (https://[::1]:port)', () => {
  // Socket APIs take "::1" where URLs write "[::1]": web push reached no IPv6 endpoint before.
  it.runIf(ipv6).each([false, true])('is reached by all three providers (web push over HTTP/1.1 only: %s)', async (http1Only) => {
    const emulator = await startEmulator({ host: '::1', http1Only });
    try {
      const providers = http1Only ? (['webpush'] as const) : (['fcm', 'apns', 'webpush'] as const);
      for (const provider of providers) {
        const { code, stdout } = await runCli([
          'send',
          '--config',
          writeEmulatorConfig(emulator),
          '-a',
          audienceFile(provider, 5, 'v6'),
          '-m',
          simpleMessage,
          '--no-journal',
          '--json',
        ]);
        expect(code, stdout).toBe(0);
        expect(JSON.parse(stdout).counts, provider).toMatchObject({ targeted: 5, accepted: 5 });
      }
      expect(emulator.stats().http2Requests.webpush).toBe(http1Only ? 0 : 5);
    } finally {
      await emulator.close();
    }
  });
});
