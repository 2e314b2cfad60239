import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { fateOf } from '../src/emulator/fate.js';
import { audienceFile, subscriptionCell } from './helpers/audience.js';
import { emulatorSubscription, fcmToken, tempFile } from './helpers/tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const message = `${root}fixtures/message.json`;
const simpleMessage = tempFile('simple.json', JSON.stringify({ title: 'Hi {{name}}', body: 'News' }));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ seed: 'campaign', unregistered: 0.2 });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

describe('pushcast send through the emulator', () => {
  it('sends the fixtures campaign and its counts match what the emulator received', async () => {
    const config = writeEmulatorConfig(emulator);
    const { code, stdout } = await runCli(['send', '--config', config, '-a', `${root}fixtures/audience.csv`, '-m', message, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    const stats = emulator.stats();
    for (const provider of ['fcm', 'apns', 'webpush'] as const) {
      expect(summary.providers[provider].accepted).toBe(stats.accepted[provider]);
      const rejected = Object.values(stats.rejected[provider]).reduce((sum, n) => sum + n, 0);
      expect(summary.providers[provider].invalid).toBe(rejected);
    }
    expect(summary.counts.targeted).toBe(13);
    expect(summary.counts.skipped).toBe(6);
    expect(stats.duplicates).toBe(0);
  });

  it('sends one message to one device with --token, for smoke tests', async () => {
    const config = writeEmulatorConfig(emulator);
    const live = tokenWithFate('accept');
    const sent = await runCli(['send', '--config', config, '--provider', 'fcm', '--token', live, '--title', 'Release {{4.2}}', '--body', 'Smoke', '--data', 'build=42', '--quiet']);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/1 targeted, 1 accepted, 0 invalid/);
    expect(emulator.delivered()).toMatchObject([{ token: live, message: { notification: { title: 'Release {{4.2}}', body: 'Smoke' }, data: { build: '42' } } }]);

    const dead = await runCli(['send', '--config', config, '--provider', 'fcm', '--token', tokenWithFate('unregistered'), '--title', 'x', '--quiet']);
    expect(dead.stdout).toMatch(/1 targeted, 0 accepted, 1 invalid/);

    // Without --quiet, a smoke test's one outcome is printed in full, with why.
    const short = await runCli(['send', '--config', config, '--provider', 'fcm', '--token', 'abcde', '--title', 'x']);
    expect(short.stdout).toContain('--token (fcm): skipped malformed-token: FCM token is 5 characters, too short to be real');
  });

  it('contacts only known push services, unless the config allows another origin', async () => {
    const internal = { ...emulatorSubscription('internal'), endpoint: 'https://169.254.169.254/latest/meta-data' };
    const mine = { ...emulatorSubscription('mine'), endpoint: 'https://push.example.net/sub/mine' };
    const audience = tempFile('web.csv', ['subscription,name', ...[internal, mine].map((sub) => `${subscriptionCell(sub)},x`)].join('\n'));
    const first = await runCli(['send', '--config', writeEmulatorConfig(emulator), '-a', audience, '-m', simpleMessage, '--json']);
    expect(JSON.parse(first.stdout).skippedByReason).toEqual({ 'endpoint-not-allowed': 2 });
    expect(emulator.stats().requests.webpush).toBe(0);

    const allowed = writeEmulatorConfig(emulator, { webpush: { allowedOrigins: ['https://push.example.net'] } });
    const second = await runCli(['send', '--config', allowed, '-a', audience, '-m', simpleMessage, '--json']);
    expect(JSON.parse(second.stdout).skippedByReason).toEqual({ 'endpoint-not-allowed': 1 });
    expect(emulator.stats().requests.webpush).toBe(1);
  });
});

describe('fatal errors stop the campaign within the first batch', () => {
  it('a VAPID key every subscription rejects', async () => {
    const other = ((await import('web-push')) as unknown as { default: typeof import('web-push') }).default.generateVAPIDKeys();
    const config = writeEmulatorConfig(emulator, { webpush: { vapidPublicKey: other.publicKey, vapidPrivateKey: other.privateKey } });
    const { code, stdout, stderr } = await runCli(['send', '--config', config, '-a', audienceFile('webpush', 1000), '-m', simpleMessage, '--json']);
    expect(code).toBe(2);
    expect(stderr).toContain('webpush.vapidPublicKey');
    const summary = JSON.parse(stdout);
    expect(summary.status).toBe('stopped');
    expect(summary.counts.invalid).toBe(0); // not one subscription put on the prune list
    expect(emulator.stats().requests.webpush).toBeLessThanOrEqual(200);
    expect(stdout + stderr).not.toContain(other.privateKey);
  });

  it('an APNs signing key Apple does not know', async () => {
    const wrongKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const config = writeEmulatorConfig(emulator, { apns: { key: wrongKey } });
    const { code, stdout, stderr } = await runCli(['send', '--config', config, '-a', audienceFile('apns', 1000), '-m', simpleMessage]);
    expect(code).toBe(2);
    expect(stderr).toContain('InvalidProviderToken');
    expect(emulator.stats().requests.apns).toBeLessThanOrEqual(200);
    expect(emulator.stats().accepted.apns).toBe(0);
    assertNoKeyMaterial(stdout + stderr, wrongKey);
  });

  it('a service account key the token endpoint rejects: nothing is sent, and the key is never printed', async () => {
    const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const account = { ...emulator.credentials.serviceAccount, private_key: wrongKey };
    const keyFile = tempFile('service-account.json', JSON.stringify(account));
    const config = writeEmulatorConfig(emulator);
    const { code, stdout, stderr } = await runCli(['send', '--config', config, '-a', audienceFile('fcm', 50), '-m', simpleMessage], {
      env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/token endpoint rejected the service account pushcast@pushcast-emulator\.iam\.gserviceaccount\.com \(invalid_grant/);
    expect(emulator.stats().requests.fcm).toBe(0);
    assertNoKeyMaterial(stdout + stderr, wrongKey);
  });

  it('a secret given where a file was expected is not echoed', async () => {
    const vapidLike = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5';
    const config = writeEmulatorConfig(emulator, { apns: { key: `${vapidLike}!` } });
    const { code, stderr } = await runCli(['send', '--config', config, '-a', audienceFile('apns', 1), '-m', simpleMessage]);
    expect(code).toBe(2);
    expect(stderr).toContain('apns.key: neither key material nor a readable file');
    expect(stderr).not.toContain(vapidLike);
  });
});

/** An FCM token the emulator's seed treats the given way. */
function tokenWithFate(fate: 'accept' | 'unregistered'): string {
  for (let i = 0; ; i++) if (fateOf(emulator.behaviour, 'fcm', fcmToken(`smoke${i}`), 1) === fate) return fcmToken(`smoke${i}`);
}

/** No line of a PEM key's body may appear in what pushcast printed. */
function assertNoKeyMaterial(output: string, pem: string): void {
  const body = pem.split('\n').filter((line) => line && !line.startsWith('-----'));
  expect(body.length).toBeGreaterThan(0);
  for (const line of body) expect(output).not.toContain(line);
}
