import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBehaviour, fateOf } from '../src/emulator/fate.js';
import { runCli } from './helpers/run-cli.js';
import { apnsToken, emulatorSubscription, fcmToken, tempDir, tempFile } from './helpers/tokens.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/pushcast.js');
const size = 20_000;
const seed = 'crash';
const behaviour = { ...defaultBehaviour, seed, unregistered: 0.05 };

/** Every recipient as the emulator names it: the token, or the web push endpoint. */
const recipients: Array<{ provider: 'fcm' | 'apns' | 'webpush'; token: string }> = [];
const rows = ['provider,token,name'];
for (let i = 0; i < size; i++) {
  const provider = (['fcm', 'apns', 'webpush'] as const)[i % 3];
  if (provider === 'webpush') {
    const subscription = emulatorSubscription(`k${i}`);
    recipients.push({ provider, token: subscription.endpoint });
    rows.push(`webpush,"${JSON.stringify(subscription).replace(/"/g, '""')}",U${i}`);
  } else {
    const token = provider === 'fcm' ? fcmToken(`k${i}`) : apnsToken(`k${i}`);
    recipients.push({ provider, token });
    rows.push(`${provider},${token},U${i}`);
  }
}
const audience = tempFile('crash.csv', `${rows.join('\n')}\n`);
const message = tempFile('m.json', JSON.stringify({ title: 'Hi {{name}}', body: 'Crash test' }));
const dead = new Set(recipients.filter(({ provider, token }) => fateOf(behaviour, provider, token, 1) === 'unregistered').map(({ token }) => token));

describe(`kill -9 during a ${size}-recipient campaign, then resume`, () => {
  const dir = tempDir();
  const log = join(dir, 'delivered.jsonl');
  let emulator: ChildProcess;

  beforeAll(async () => {
    // The emulator lives in its own process: it must outlive the senders it sees killed.
    emulator = spawn(process.execPath, [bin, 'emulator', '--seed', seed, '--unregistered', '0.05', '--latency', '2', '--log', log], { cwd: dir });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      emulator.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('stop with Ctrl-C')) resolve();
      });
      emulator.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
    });
  });
  afterAll(() => emulator.kill('SIGKILL'));

  const send = (...extra: string[]) =>
    runCli(['send', '--config', join(dir, 'pushcast.emulator.json'), '-a', audience, '-m', message, '--campaign', 'crash', '--json', ...extra], { cwd: dir });

  const deliveredTokens = async (): Promise<string[]> => {
    await new Promise((resolve) => setTimeout(resolve, 300)); // the emulator appends its log asynchronously
    return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { token: string }).token);
  };

  it('never sends a recipient twice, and accounts for every one as accepted, invalid or uncertain', async () => {
    const killedAfter: number[] = [];
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [bin, 'send', '--config', 'pushcast.emulator.json', '-a', audience, '-m', message, '--campaign', 'crash', '--quiet'], { cwd: dir });
      const delay = 300 + Math.floor(Math.random() * 1500);
      killedAfter.push(delay);
      setTimeout(() => child.kill('SIGKILL'), delay);
      await new Promise((resolve) => child.on('exit', resolve));
    }

    // The kills landed mid-campaign: some recipients had arrived, not all.
    const beforeResume = (await deliveredTokens()).length;
    expect(beforeResume, `killed after ${killedAfter.join(', ')} ms`).toBeGreaterThan(0);
    expect(beforeResume, `killed after ${killedAfter.join(', ')} ms`).toBeLessThan(size - dead.size);

    const { code, stdout } = await send();
    expect(code, `killed after ${killedAfter.join(', ')} ms`).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.counts.targeted).toBe(size);
    expect(summary.counts.accepted + summary.counts.invalid + summary.counts.uncertain).toBe(size);
    expect(summary.counts.failed).toBe(0);
    // Dead tokens in flight at a kill are uncertain too: they were maybe sent.
    expect(summary.counts.invalid).toBeLessThanOrEqual(dead.size);
    expect(summary.counts.invalid).toBeGreaterThanOrEqual(dead.size - summary.counts.uncertain);

    const delivered = await deliveredTokens();
    expect(delivered.length, 'a recipient was delivered twice').toBe(new Set(delivered).size);
    // Uncertain ones may or may not have arrived; accepted ones all did.
    expect(delivered.length).toBeGreaterThanOrEqual(summary.counts.accepted);
    expect(delivered.length).toBeLessThanOrEqual(summary.counts.accepted + summary.counts.uncertain);
  });

  it('with --resend-uncertain, none is missing', async () => {
    const { code, stdout } = await send('--resend-uncertain');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.counts.uncertain).toBe(0);
    expect(summary.counts.invalid).toBe(dead.size);
    expect(summary.counts.accepted + summary.counts.invalid).toBe(size);
    const delivered = new Set(await deliveredTokens());
    const missing = recipients.filter(({ token }) => !delivered.has(token) && !dead.has(token));
    expect(missing).toEqual([]);
  });
});
