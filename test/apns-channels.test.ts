import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { tempDir } from './helpers/tokens.js';

/**
 * APNs broadcast channels (issue 34, item 4): `apns channels create|list|read|delete` through
 * Apple's channel management API, and `send --apns-channel ID`, one Live Activity update that APNs
 * delivers to every subscriber of the channel: checked before anything is sent, sent at most once.
 * Through the CLI, against the emulator, asserting on what it received.
 */

const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: true });
(addFormats as unknown as typeof addFormats.default)(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(new URL('../schema/report-v1.schema.json', import.meta.url), 'utf8')) as object);

const update = {
  title: 'Goal!',
  body: 'Reds 2 - 1 Blues',
  apns: { aps: { event: 'update', timestamp: 'now', 'content-state': { home: 2, away: 1, minute: 67 }, 'relevance-score': 75 } },
};

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

/** A folder with the emulator's config and a message file; `cli` runs pushcast there. */
function project(message: Record<string, unknown> = update) {
  const dir = tempDir();
  writeEmulatorConfig(emulator, {}, dir);
  writeFileSync(join(dir, 'm.json'), JSON.stringify(message));
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  return { dir, cli };
}

const bundleId = 'com.example.pushcast';

describe('apns channels: create, list, read and delete through the channel management API', () => {
  it('create makes a channel the emulator keeps for the app, list shows it, read tells its policy, delete removes it', async () => {
    const { cli } = project();
    const created = await cli('apns', 'channels', 'create', '--message-storage-policy', '1');
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(emulator.apnsChannels.of(bundleId)).toEqual([id]);

    const listed = await cli('apns', 'channels', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ channels: [id], app: bundleId, environment: 'production' });

    const read = await cli('apns', 'channels', 'read', id, '--json');
    expect(read.code, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ id, messageStoragePolicy: 1, pushType: 'LiveActivity' });

    const deleted = await cli('apns', 'channels', 'delete', id);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(emulator.apnsChannels.of(bundleId)).toEqual([]);
    const after = await cli('apns', 'channels', 'list');
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe('');
    // Five commands, five node-apn clients: one provider token, the process's, never one each.
    expect(emulator.stats().apnsProviderTokens).toBe(1);
  });

  it("deleting a channel the app does not have gives APNs's reason, ChannelNotRegistered, and exit 1", async () => {
    const { cli } = project();
    const deleted = await cli('apns', 'channels', 'delete', 'bm8tc3VjaC1jaGFubmVs');
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain('ChannelNotRegistered');
  });
});

describe('send --apns-channel: one Live Activity update for every subscriber of the channel', () => {
  it('the emulator receives one broadcast, for that channel, with push type liveactivity and the aps payload', async () => {
    const { cli } = project();
    const id = (await cli('apns', 'channels', 'create')).stdout.trim();
    const before = Math.floor(Date.now() / 1000);
    const sent = await cli('send', '--apns-channel', id, '-m', 'm.json', '--json');
    expect(sent.code, sent.stderr).toBe(0);
    const broadcasts = emulator.apnsChannels.broadcasts;
    expect(broadcasts).toHaveLength(1);
    expect(broadcasts[0]).toMatchObject({ bundleId, channelId: id, headers: { 'apns-push-type': 'liveactivity', 'apns-priority': '10' } });
    // No apns-topic: the app is in the path.
    expect(broadcasts[0].headers['apns-topic']).toBeUndefined();
    const { aps } = broadcasts[0].payload as { aps: Record<string, unknown> };
    expect(aps).toMatchObject({ event: 'update', 'content-state': { home: 2, away: 1, minute: 67 }, 'relevance-score': 75, alert: { title: 'Goal!', body: 'Reds 2 - 1 Blues' } });
    expect(aps.timestamp).toBeGreaterThanOrEqual(before);
    expect(emulator.delivered()).toHaveLength(0);
    // The channel's creation and the broadcast carried the same provider token.
    expect(emulator.stats().apnsProviderTokens).toBe(1);

    const record = JSON.parse(sent.stdout) as { broadcast: Record<string, unknown>; counts: { targeted: number } };
    expect(record.broadcast).toMatchObject({
      provider: 'apns',
      target: { kind: 'apns-channel', value: id },
      requests: 1,
      outcome: 'accepted',
      messageId: broadcasts[0].requestId,
      perDeviceOutcome: false,
    });
    expect(record.counts.targeted).toBe(0);
    expect(validate(record), JSON.stringify(validate.errors)).toBe(true);
  });

  it('the same command twice broadcasts once: the second run sends nothing and says the first did', async () => {
    const { cli } = project();
    const id = (await cli('apns', 'channels', 'create')).stdout.trim();
    const first = await cli('send', '--apns-channel', id, '-m', 'm.json');
    expect(first.code, first.stderr).toBe(0);
    const second = await cli('send', '--apns-channel', id, '-m', 'm.json', '--json');
    expect(second.code, second.stderr).toBe(0);
    expect(emulator.apnsChannels.broadcasts).toHaveLength(1);
    expect(JSON.parse(second.stdout)).toMatchObject({ broadcast: { requests: 0, by: 'earlier-run', outcome: 'accepted' } });
    expect(second.stderr).toContain('an earlier run sent this message');
  });

  it('an unknown channel: APNs refuses it with ChannelNotRegistered, exit 3 as for a refused broadcast, and a re-run may send', async () => {
    const { cli, dir } = project();
    const sent = await cli('send', '--apns-channel', 'bm8tc3VjaC1jaGFubmVs', '-m', 'm.json', '--campaign', 'unknown-channel', '--json');
    expect(sent.code).toBe(3);
    const record = JSON.parse(sent.stdout) as { broadcast: Record<string, unknown> };
    expect(record.broadcast).toMatchObject({ outcome: 'refused', reason: 'ChannelNotRegistered', requests: 1 });
    expect(sent.stderr).toContain('apns refused the message (ChannelNotRegistered');
    expect(emulator.apnsChannels.broadcasts).toHaveLength(0);
    // Refused: nothing went out, so nothing is remembered against a later run.
    expect(() => readFileSync(join(dir, '.pushcast', 'unknown-channel.broadcast.json'))).toThrow();
  });

  it.each([
    ['an ordinary notification', { title: 'Hello', body: 'World' }, /carries Live Activity updates only/],
    [
      'a Live Activity start',
      { apns: { aps: { event: 'start', timestamp: 'now', 'content-state': { home: 0 }, 'attributes-type': 'Match', attributes: { id: 1 } } } },
      /starting one goes to push-to-start tokens/,
    ],
  ])('%s is refused before anything is sent, with exit 1', async (_, message, error) => {
    const { cli } = project(message);
    const id = (await cli('apns', 'channels', 'create')).stdout.trim();
    const sent = await cli('send', '--apns-channel', id, '-m', 'm.json');
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(error);
    expect(emulator.apnsChannels.broadcasts).toHaveLength(0);
  });

  it('per-device flags and a second target are refused as usage errors', async () => {
    const { cli } = project();
    const withAudience = await cli('send', '--apns-channel', 'YWJj', '-m', 'm.json', '--audience', 'a.csv');
    expect(withAudience.code).toBe(1);
    expect(withAudience.stderr).toContain('--audience does not go with --apns-channel');
    const twoTargets = await cli('send', '--apns-channel', 'YWJj', '--topic', 'news', '-m', 'm.json');
    expect(twoTargets.code).toBe(1);
    expect(twoTargets.stderr).toContain('give one of --topic and --apns-channel');
    expect(emulator.apnsChannels.broadcasts).toHaveLength(0);
  });
});
