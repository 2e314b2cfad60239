import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ProviderSet } from '../src/providers/provider-set.js';
import { installFcmConnectHook, observeSession } from '../src/providers/fcm/fcm-connect-hook.js';
import { KeptSessions } from '../src/providers/fcm/kept-sessions.js';
import { OpenSessions } from '../src/providers/http2/open-sessions.js';
import { serviceAccountCredential } from '../src/providers/fcm/service-account-credential.js';
import { rendered, startEmulator, type Emulator } from './helpers/emulator.js';
import { fcmToken } from './helpers/tokens.js';

/**
 * The upgrade guard for fcm.endpoint. firebase-admin has no endpoint setting, so pushcast wraps
 * the http2.connect call it makes for https://fcm.googleapis.com (src/providers/fcm/fcm-connect-hook.ts).
 * If a firebase-admin upgrade stops making that call the way this relies on, these tests fail
 * and say so, instead of campaigns quietly going to the real FCM.
 */
const require = createRequire(import.meta.url);
// firebase-admin's exports hide package.json: walk up from its main entry instead.
const adminRoot = join(dirname(require.resolve('firebase-admin')), '..');
const adminVersion = (JSON.parse(readFileSync(join(adminRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe(`fcm.endpoint redirect with firebase-admin ${adminVersion}`, () => {
  it('firebase-admin still sends through http2.connect to the hard-coded FCM host', () => {
    const apiRequest = readFileSync(join(adminRoot, 'lib/utils/api-request.js'), 'utf8');
    const messaging = readFileSync(join(adminRoot, 'lib/messaging/messaging.js'), 'utf8');
    expect(apiRequest, 'firebase-admin no longer calls http2.connect: fcm-connect-hook.ts cannot redirect it').toMatch(/http2\.connect\(url, opts\)/);
    expect(apiRequest, 'firebase-admin no longer require()s node:http2 as a module object').toMatch(/require\("http2"\)/);
    expect(messaging, 'the FCM host is no longer fcm.googleapis.com').toContain("FCM_SEND_HOST = 'fcm.googleapis.com'");
    expect(messaging, 'sendEach no longer opens its HTTP/2 session synchronously').toMatch(/new api_request_1\.Http2SessionHandler\(`https:\/\/\$\{FCM_SEND_HOST\}`\)/);
  });

  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ forced: { [fcmToken('always-503')]: { status: 503, reason: 'UNAVAILABLE' } } });
  });
  afterAll(() => emulator.close());

  it('a real sendEach over HTTP/2 reaches the emulator, and its session is observed', async () => {
    const removeHook = installFcmConnectHook({ redirect: { endpoint: emulator.url, ca: emulator.ca } });
    const { initializeApp, deleteApp } = await import('firebase-admin/app');
    const { getMessaging } = await import('firebase-admin/messaging');
    const app = initializeApp({ credential: serviceAccountCredential(emulator.credentials.serviceAccount, { ca: emulator.ca }), projectId: 'pushcast-emulator' }, 'redirect-guard');
    const sessions = new OpenSessions(5000);
    try {
      const { result, observation } = observeSession(() => getMessaging(app).sendEach([{ token: fcmToken('guard'), notification: { title: 'guard' } }]), {
        kept: new KeptSessions({ sessions }),
      });
      const response = await result;
      expect(observation.hooked, 'the hook did not see firebase-admin open its session').toBe(true);
      expect(observation.established, 'the hook did not see the session connect').toBe(true);
      expect(response.successCount).toBe(1);
      expect(emulator.delivered().map((item) => item.token)).toEqual([fcmToken('guard')]);
    } finally {
      vi.useRealTimers();
      sessions.destroyAll();
      await deleteApp(app);
      removeHook();
    }
  });

  it('firebase-admin makes one request per sendEach message, with its own retries turned off', async () => {
    emulator.reset();
    const providers = new ProviderSet(emulator.config());
    try {
      const fcm = (await providers.get('fcm'))!;
      const outcomes = await fcm.send([rendered('fcm', fcmToken('always-503'))] as never, new AbortController().signal);
      expect(outcomes).toMatchObject([{ kind: 'retryable', reason: 'unavailable', because: 'answered' }]);
      // firebase-admin alone would have asked 5 times (4 retries of a 503) before answering.
      expect(emulator.stats().requests.fcm, 'firebase-admin retried on its own: a second retry layer under pushcast').toBe(1);
    } finally {
      await providers.close();
    }
  });
});

describe('sendEach calls one after another', () => {
  /** Sends each batch in turn through pushcast's FCM provider; the outcomes, and the HTTP/2 connections the emulator saw. */
  async function sendInTurn(emulator: Emulator, batches: string[][], config: Record<string, unknown> = {}) {
    const providers = new ProviderSet({ ...emulator.config(), ...config });
    try {
      const fcm = (await providers.get('fcm'))!;
      const outcomes = [];
      for (const tokens of batches) outcomes.push(await fcm.send(tokens.map((token) => rendered('fcm', token)) as never, new AbortController().signal));
      return { outcomes, connections: emulator.stats().http2Connections.fcm };
    } finally {
      await providers.close();
    }
  }

  it('share one HTTP/2 connection while every request is answered (firebase-admin alone opens one per call)', async () => {
    const emulator = await startEmulator();
    try {
      const { outcomes, connections } = await sendInTurn(emulator, [[fcmToken('a1'), fcmToken('a2')], [fcmToken('b1')], [fcmToken('c1'), fcmToken('c2')]]);
      expect(outcomes.flat().map((outcome) => outcome.kind)).toEqual(Array(5).fill('accepted'));
      expect(emulator.stats().accepted.fcm).toBe(5);
      expect(connections).toBe(1);
    } finally {
      await emulator.close();
    }
  });

  it('open a new connection after one whose request went unanswered, or that went away', async () => {
    // Every first attempt is processed and answered 3 s later, past the 1 s deadline.
    const late = await startEmulator({ late: 1, lateMs: 3000 });
    try {
      const { outcomes, connections } = await sendInTurn(late, [[fcmToken('late1')], [fcmToken('late2')]], { requestTimeout: 1 });
      expect(outcomes.flat().map((outcome) => outcome.kind)).toEqual(['uncertain', 'uncertain']);
      expect(connections, 'a connection with a request that timed out was used again').toBe(2);
    } finally {
      await late.close();
    }
    // Every first attempt finds its connection dropped with a GOAWAY; the second is accepted.
    const dropping = await startEmulator({ dropConnection: 1 });
    try {
      const token = fcmToken('dropped');
      const { outcomes, connections } = await sendInTurn(dropping, [[token], [token]]);
      expect(outcomes.flat().map((outcome) => outcome.kind)).toEqual(['retryable', 'accepted']);
      expect(connections).toBe(2);
    } finally {
      await dropping.close();
    }
  });
});

describe('a connection a sendEach call left', () => {
  it('is used by the next call soon after, and closed once idle, so the call after that opens a new one', async () => {
    const emulator = await startEmulator();
    const removeHook = installFcmConnectHook({ redirect: { endpoint: emulator.url, ca: emulator.ca } });
    const { initializeApp, deleteApp } = await import('firebase-admin/app');
    const { getMessaging } = await import('firebase-admin/messaging');
    const app = initializeApp({ credential: serviceAccountCredential(emulator.credentials.serviceAccount, { ca: emulator.ca }), projectId: 'pushcast-emulator' }, 'kept-idle');
    const sessions = new OpenSessions(5000);
    // The idle time runs on a fake clock: "soon after" and "past its time" are the test's to say,
    // however slowly a busy machine gets from one call to the next.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const kept = new KeptSessions({ sessions, idleMs: 200 });
    const send = async (name: string) => {
      const { result } = observeSession(() => getMessaging(app).sendEach([{ token: fcmToken(name), notification: { title: name } }]), { kept });
      expect((await result).successCount).toBe(1);
      return emulator.stats().http2Connections.fcm;
    };
    try {
      expect(await send('first')).toBe(1);
      expect(await send('soon after'), 'a call soon after opened a connection of its own').toBe(1);
      vi.advanceTimersByTime(200);
      expect(await send('after idling'), 'a connection idle past its time was used again').toBe(2);
      expect(emulator.delivered().map((item) => item.token)).toEqual([fcmToken('first'), fcmToken('soon after'), fcmToken('after idling')]);
    } finally {
      vi.useRealTimers();
      sessions.destroyAll();
      await deleteApp(app);
      removeHook();
      await emulator.close();
    }
  });
});
