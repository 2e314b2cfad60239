import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PushcastConfig } from '../src/config/config.js';
import type { Outcome } from '../src/domain/outcome.js';
import type { ProviderName } from '../src/domain/recipient.js';
import type { Delivered } from '../src/emulator/emulator-state.js';
import { ConfigError } from '../src/errors.js';
import type { Provider, Rendered } from '../src/providers/provider.js';
import { ProviderSet } from '../src/providers/provider-set.js';
import { ProviderThreads } from '../src/providers/threads/provider-threads.js';
import { Lane } from '../src/engine/lane.js';
import { rendered, startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { audienceFile } from './helpers/audience.js';
import { runCli } from './helpers/run-cli.js';
import { apnsToken, fcmToken, tempFile } from './helpers/tokens.js';
import { apnsConnections } from '../src/providers/apns/create-apns.js';

/**
 * The sending threads (--workers): the same batch, sent from the main thread and from threads,
 * reaches the provider byte for byte the same, is answered the same, and a refused credential
 * still stops the run as a ConfigError before anything is sent.
 */
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({
    forced: { [fcmToken('gone')]: { status: 404, reason: 'UNREGISTERED' }, [apnsToken('gone')]: { status: 410, reason: 'Unregistered' } },
    apnsTopics: ['com.example.pushcast'],
  });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

async function sendFrom(threads: number, name: ProviderName, items: Rendered[], config: PushcastConfig = emulator.config(), signal = new AbortController().signal) {
  const providers = new ProviderSet(config, 'send', { threads });
  try {
    const provider = (await providers.get(name)) as Provider;
    return await provider.send(items as never, signal);
  } finally {
    await providers.close();
  }
}

/**
 * What the emulator received, in token order, without the moment it arrived. apns-expiration is
 * absolute, set when the request goes: checked to be an hour from now, then left out.
 */
function received(): unknown[] {
  const now = Math.floor(Date.now() / 1000);
  const text = JSON.stringify(
    emulator
      .delivered()
      .map(({ at: _at, ...rest }: Delivered) => rest)
      .sort((a, b) => a.token.localeCompare(b.token)),
  );
  for (const [, expiration] of text.matchAll(/"apns-expiration":"(\d+)"/g)) expect(Number(expiration) - now).toBeGreaterThan(3600 - 10);
  return JSON.parse(text.replace(/"apns-expiration":"\d+"/g, '"apns-expiration":"in an hour"')) as unknown[];
}

const messageFile = tempFile('spread.json', JSON.stringify({ title: 'Hi', body: 'there' }));
const message = { title: 'Sale', body: 'Привет 🎉', group: 'sale-1', thread: 'promos', ttl: 3600, priority: 'high', data: { a: 'b' } } as const;

describe('sending threads', () => {
  it.each([
    ['fcm', [rendered('fcm', fcmToken(1), message), rendered('fcm', fcmToken('gone'), message), rendered('fcm', fcmToken(2), message)]],
    ['apns', [rendered('apns', apnsToken(1), message), rendered('apns', apnsToken('gone'), message)]],
    ['webpush', [rendered('webpush', 'w1', message), rendered('webpush', 'w2', message)]],
  ] as const)('put on the wire for %s exactly what the main thread does, and read the answers the same', async (name, items) => {
    const inMain = await sendFrom(0, name, [...items]);
    const fromMain = received();
    emulator.reset();
    const inThreads = await sendFrom(2, name, [...items]);
    // The same answers, but for the ids each accepted message is given anew.
    const withoutIds = (outcomes: Outcome[]) => outcomes.map((outcome) => (outcome.kind === 'accepted' ? { ...outcome, id: typeof outcome.id } : outcome));
    expect(withoutIds(inThreads)).toEqual(withoutIds(inMain));
    expect(inThreads.map((outcome) => outcome.kind)).toContain('accepted');
    expect(received()).toEqual(fromMain);
    expect(fromMain).toHaveLength(inMain.filter((outcome) => outcome.kind === 'accepted').length);
  });

  it('stop a refused credential as a ConfigError, before any message is sent', async () => {
    const config = emulator.config();
    const wrong = { ...config, webpush: { ...config.webpush, subject: 'mailto:me@localhost' } };
    await expect(sendFrom(2, 'webpush', [], wrong)).rejects.toBeInstanceOf(ConfigError);
    await expect(sendFrom(2, 'webpush', [], wrong)).rejects.toThrow(/localhost/);
    expect(emulator.stats().requests.webpush).toBe(0);
  });

  it('start nothing once the campaign is stopping: every recipient comes back never sent', async () => {
    const stopped = new AbortController();
    stopped.abort();
    const outcomes = await sendFrom(2, 'fcm', [rendered('fcm', fcmToken(3), message)], emulator.config(), stopped.signal);
    expect(outcomes).toEqual([{ kind: 'retryable', reason: 'not-sent', because: 'not-sent' } satisfies Outcome]);
    expect(emulator.stats().requests.fcm).toBe(0);
  });
});

describe('every sending thread sends', () => {
  // Each provider's in-flight limit splits into a batch per thread: with one batch the size of the
  // limit, APNs and web push went to one thread while the others idled.
  it.each([
    [0, 1],
    [2, 2],
  ])('with --workers %i, APNs and web push requests come from %i threads (each with its own connections)', async (workers, threads) => {
    for (const provider of ['apns', 'webpush'] as const) {
      emulator.reset();
      const { code, stdout } = await runCli([
        'send',
        '--config',
        writeEmulatorConfig(emulator),
        '-a',
        audienceFile(provider, 900, `spread-${workers}`),
        '-m',
        messageFile,
        '--no-journal',
        '--json',
        '--workers',
        String(workers),
        // Web push: 100 in flight a thread, the streams one connection takes, so one connection a thread.
        ...(provider === 'webpush' ? ['--concurrency', '100'] : []),
      ]);
      expect(code, stdout).toBe(0);
      expect(JSON.parse(stdout).counts.accepted).toBe(900);
      const connections = emulator.stats().http2Connections[provider];
      // Web push: one connection a thread. APNs: up to apnsConnections a thread, so more than that is more than one thread.
      if (provider === 'webpush') expect(connections, provider).toBe(threads);
      else if (threads === 1) expect(connections, provider).toBeLessThanOrEqual(apnsConnections);
      else expect(connections, provider).toBeGreaterThan(apnsConnections);
    }
  });
});

/**
 * A thread that dies, or whose provider throws: what it had in hand may have gone out, so the lane
 * counts it uncertain (never resent by default); the surviving threads take the next batches; when
 * none is left, the rest fails as an internal error instead of hanging.
 */
describe('a sending thread that fails', () => {
  const failingThread = new URL('./helpers/failing-thread.mjs', import.meta.url);
  const item = (token: string) => rendered('fcm', fcmToken(token), message);
  const work = (token: string) => ({ rendered: item(token), attempts: 0 });

  it('dies before it starts a batch: that batch never left, and comes back not sent, to send again', async () => {
    const threads = new ProviderThreads(1, emulator.config(), false, failingThread);
    try {
      const provider = await threads.open('fcm');
      const lane = new Lane('fcm', 10, Promise.resolve(provider), () => undefined);
      const early = { ...work('e'), rendered: { ...item('e'), recipient: { ...item('e').recipient, token: 'die-early' } } };
      let asked = 0;
      const outcomes = await lane.send(provider, [early, work('f')], async () => (asked++, true));
      expect(outcomes).toEqual([0, 1].map(() => ({ kind: 'retryable', reason: 'not-sent', because: 'not-sent' })));
      expect(asked).toBe(0); // never journaled: it was never about to leave
    } finally {
      await threads.close();
    }
  });

  it('dies mid-batch: its batch is uncertain, the next goes to the thread left, then nothing hangs', async () => {
    const threads = new ProviderThreads(2, emulator.config(), false, failingThread);
    try {
      const provider = await threads.open('fcm');
      const lane = new Lane('fcm', 10, Promise.resolve(provider), () => undefined);
      const dying = { ...work('a'), rendered: { ...item('a'), recipient: { ...item('a').recipient, token: 'die' } } };
      const first = await lane.send(provider, [dying, work('b')]);
      expect(first).toEqual([0, 1].map(() => ({ kind: 'uncertain', reason: 'no-answer', detail: 'the sending thread died: a sending thread exited (code 7)' })));
      // The other thread is alive: its provider's throw is judged by the lane the same way.
      const second = await lane.send(provider, [work('c')]);
      expect(second).toEqual([{ kind: 'uncertain', reason: 'no-answer', detail: 'socket hang up' }]);
      const third = await lane.send(provider, [dying]);
      expect(third[0]).toMatchObject({ kind: 'uncertain', detail: expect.stringContaining('code 7') });
      // Both threads are gone: the batch fails at once, never sent.
      const fourth = await lane.send(provider, [work('d')]);
      expect(fourth).toEqual([{ kind: 'fatal', reason: 'internal-error', fix: expect.stringContaining('every sending thread died') }]);
    } finally {
      await threads.close();
    }
  });
});
