import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderSet } from '../src/providers/provider-set.js';
import type { ApnsPayload } from '../src/providers/apns/payload.js';
import type { Rendered } from '../src/providers/provider.js';
import { device } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { apnsToken, liveActivityToken, tempFile } from './helpers/tokens.js';

/**
 * Live Activities (ActivityKit push notifications) sent through the CLI to the emulator: the
 * headers and aps fields Apple documents, and every payload Apple would not take refused before
 * anything is sent.
 */
let emulator: Emulator;
let config: string;
beforeAll(async () => {
  emulator = await startEmulator({ apnsTopics: ['com.example.app'] });
  config = writeEmulatorConfig(emulator);
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const send = (audience: string, message: unknown) =>
  runCli(['send', '--config', config, '-a', tempFile('audience.csv', audience), '-m', tempFile('activity.json', JSON.stringify(message)), '--no-journal', '--json']);

const update = {
  title: 'Your order',
  body: 'Arriving in {{eta}} minutes',
  apns: { aps: { event: 'update', timestamp: 'now', 'content-state': { status: 'on the way', eta: '{{eta}}' }, 'relevance-score': 50 } },
};

describe('Live Activities', () => {
  it('an update goes to each Live Activity token with apns-push-type liveactivity, the .push-type.liveactivity topic, and the aps Apple documents', async () => {
    const tokens = [liveActivityToken('order-1'), liveActivityToken('order-2')];
    const before = Math.floor(Date.now() / 1000);
    const { code, stdout, stderr } = await send(`provider,token,apns_push_type,eta\napns,${tokens[0]},liveactivity,5\napns,${tokens[1]},LiveActivity,12\n`, update);
    const after = Math.ceil(Date.now() / 1000);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).providers.apns).toMatchObject({ targeted: 2, accepted: 2 });
    const delivered = emulator.delivered();
    expect(delivered.map((entry) => entry.token).sort()).toEqual([...tokens].sort());
    for (const entry of delivered) {
      expect(entry.headers).toMatchObject({ 'apns-push-type': 'liveactivity', 'apns-topic': 'com.example.app.push-type.liveactivity', 'apns-priority': '10' });
      const { aps } = entry.message as { aps: Record<string, unknown> };
      const eta = entry.token === tokens[0] ? '5' : '12';
      expect(aps).toMatchObject({
        event: 'update',
        'content-state': { status: 'on the way', eta },
        'relevance-score': 50,
        alert: { title: 'Your order', body: `Arriving in ${eta} minutes` },
      });
      expect(aps.timestamp).toBeGreaterThanOrEqual(before);
      expect(aps.timestamp).toBeLessThanOrEqual(after);
    }
  });

  it('a push-to-start carries attributes-type and attributes, its times from the row as numbers, at priority 5 when the template says normal', async () => {
    const token = liveActivityToken('start');
    const { code, stderr } = await send(`platform,token,apns_push_type,started\nios,${token},liveactivity,1767225600\n`, {
      title: 'Kick-off',
      body: 'The match has started',
      priority: 'normal',
      apns: {
        aps: {
          event: 'start',
          timestamp: '{{started}}',
          'stale-date': 1767233000,
          'content-state': { home: 0, away: 0 },
          'attributes-type': 'MatchAttributes',
          attributes: { homeTeam: 'Reds', awayTeam: 'Blues' },
          'input-push-token': 1,
        },
      },
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [entry] = emulator.delivered();
    expect(entry.headers).toMatchObject({ 'apns-push-type': 'liveactivity', 'apns-topic': 'com.example.app.push-type.liveactivity', 'apns-priority': '5' });
    expect((entry.message as { aps: unknown }).aps).toEqual({
      event: 'start',
      timestamp: 1767225600,
      'stale-date': 1767233000,
      'content-state': { home: 0, away: 0 },
      'attributes-type': 'MatchAttributes',
      attributes: { homeTeam: 'Reds', awayTeam: 'Blues' },
      'input-push-token': 1,
      alert: { title: 'Kick-off', body: 'The match has started' },
    });
  });

  it('an end carries its final content state and dismissal-date, "now" sent as the seconds of the request, with no alert when the template has no title or body', async () => {
    const token = liveActivityToken('end');
    const before = Math.floor(Date.now() / 1000);
    const { code, stderr } = await send(`provider,token,apns_push_type\napns,${token},liveactivity\n`, {
      apns: { aps: { event: 'end', timestamp: 1767225600, 'content-state': { home: 2, away: 1 }, 'dismissal-date': 'now' } },
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [entry] = emulator.delivered();
    expect(entry.headers).toMatchObject({ 'apns-push-type': 'liveactivity', 'apns-topic': 'com.example.app.push-type.liveactivity' });
    const { aps } = entry.message as { aps: Record<string, unknown> };
    expect(aps).toEqual({ event: 'end', timestamp: 1767225600, 'content-state': { home: 2, away: 1 }, 'dismissal-date': expect.any(Number) });
    expect(aps['dismissal-date']).toBeGreaterThanOrEqual(before);
  });

  const withAps = (aps: Record<string, unknown>) => ({ title: 'Score', body: 'Reds 1 - 0 Blues', apns: { aps } });
  const state = { 'content-state': { home: 1, away: 0 } };
  it.each([
    ['no timestamp', withAps({ event: 'update', ...state }), 'apns.aps.timestamp is missing'],
    ['an event without content-state', withAps({ event: 'update', timestamp: 'now' }), 'apns.aps.content-state is missing'],
    [
      'attributes-type on an update',
      withAps({ event: 'update', timestamp: 'now', ...state, 'attributes-type': 'MatchAttributes' }),
      'apns.aps.attributes-type is only for event "start"',
    ],
    ['attributes on an end', withAps({ event: 'end', timestamp: 'now', ...state, attributes: { homeTeam: 'Reds' } }), 'apns.aps.attributes is only for event "start"'],
    ['a start without attributes', withAps({ event: 'start', timestamp: 'now', ...state, 'attributes-type': 'MatchAttributes' }), 'apns.aps.attributes is missing'],
    ['dismissal-date on an update', withAps({ event: 'update', timestamp: 'now', ...state, 'dismissal-date': 1767240000 }), 'apns.aps.dismissal-date is only for event "end"'],
    ['a timestamp in milliseconds', withAps({ event: 'update', timestamp: 1767225600000, ...state }), 'apns.aps.timestamp is 1767225600000: that is milliseconds'],
    ['content-state without an event', withAps({ timestamp: 'now', ...state }), 'apns.aps.event is missing'],
  ])('%s is refused when the template is read, naming the file and the field, and nothing is sent', async (_, message, problem) => {
    const { code, stdout } = await send(`token,apns_push_type\n${liveActivityToken('refused')},liveactivity\n`, message);
    expect(code).toBe(1);
    const { error } = JSON.parse(stdout) as { error: { reason: string; message: string } };
    expect(error.reason).toBe('input');
    expect(error.message).toMatch(/^message \S+activity\.json:\n {2}- /);
    expect(error.message).toContain(problem);
    expect(emulator.attemptLog()).toEqual([]);
  });

  it('an ordinary template skips a Live Activity token row, and a Live Activity template a device token row, each with its line: neither reaches APNs', async () => {
    const audience = `provider,token,apns_push_type,eta\napns,${liveActivityToken('row-2')},liveactivity,5\napns,${apnsToken('row-3')},,7\n`;
    const ordinary = await send(audience, { title: 'Hello', body: 'An ordinary alert' });
    expect(ordinary.code).toBe(0);
    expect(JSON.parse(ordinary.stdout).errors).toEqual([
      { kind: 'skipped', line: 2, provider: 'apns', reason: 'wrong-push-type', detail: expect.stringContaining('this row is a Live Activity token') },
    ]);
    expect(emulator.delivered().map((entry) => [entry.token, entry.headers['apns-push-type']])).toEqual([[apnsToken('row-3'), 'alert']]);

    emulator.reset();
    const live = await send(audience, update);
    expect(JSON.parse(live.stdout).errors).toEqual([
      { kind: 'skipped', line: 3, provider: 'apns', reason: 'wrong-push-type', detail: expect.stringContaining('this row is a device token') },
    ]);
    expect(emulator.delivered().map((entry) => [entry.token, entry.headers['apns-push-type']])).toEqual([[liveActivityToken('row-2'), 'liveactivity']]);
  });

  it('the emulator refuses a liveactivity push to the bare bundle id, and an alert to the Live Activity topic, as TopicDisallowed', async () => {
    const providers = new ProviderSet(emulator.config());
    const body = { aps: { event: 'update', timestamp: 1767225600, 'content-state': {} } };
    const item = (pushType: ApnsPayload['pushType'], topic: string) =>
      ({ provider: 'apns', recipient: device('apns', 'raw', { token: liveActivityToken('raw') }), payload: { pushType, topic, priority: 10, body } }) as Rendered;
    try {
      const apns = (await providers.get('apns'))!;
      const outcomes = await apns.send([item('liveactivity', 'com.example.app'), item('alert', 'com.example.app.push-type.liveactivity')], new AbortController().signal);
      expect(outcomes).toMatchObject([{ reason: 'topic-refused' }, { reason: 'topic-refused' }]);
    } finally {
      await providers.close();
    }
    expect(emulator.attemptLog().map(({ status, reason }) => [status, reason])).toEqual([
      [400, 'TopicDisallowed'],
      [400, 'TopicDisallowed'],
    ]);
  });
});
