// The acceptance test: four shard processes of one user-ID campaign share a PostgreSQL
// registry while the app's backend registers and moves tokens under them; then a pod is killed
// mid-shard and resumed. Everything is judged from what the emulator received and what the
// registry holds after.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { userIdentity, keysOf, type ProviderName } from '../src/domain/recipient.js';
import { inShard } from '../src/engine/shard.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { freshDatabase, postgresOrSkip } from './helpers/postgres.js';
import { root, spawnCli, type SpawnResult } from './helpers/spawn-cli.js';
import { apnsToken, fcmToken, tempDir, tempFile } from './helpers/tokens.js';
import { waitFor } from './helpers/wait-for.js';

const postgres = postgresOrSkip();
if (postgres.skip) console.log(`PostgreSQL fleet tests skipped: ${postgres.skip}`);
const sql = (file: string) => readFileSync(join(root, 'schema/postgres', file), 'utf8');

const shards = 4;
/** Users: a send resolves 2,000 rows of the audience a query, so each shard resolves its share in two batches, the second while the backend moves tokens. */
const userCount = 3000;

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({});
});
afterAll(() => emulator?.close());
beforeEach(() => {
  emulator.reset();
  emulator.behaviour.dead.clear();
});

interface Seeded {
  provider: ProviderName;
  token: string;
  userId: string;
  badge: number;
}

/** The registry as the campaign starts: who has which device, and which are dead or logged out. */
interface Fleet {
  url: string;
  dir: string;
  config: string;
  message: string;
  devices: Seeded[];
  byToken: Map<string, Seeded>;
  /** Users whose every device logged out before the send. */
  unregistered: Set<string>;
  /** Tokens the emulator answers as unregistered. */
  dead: Set<string>;
}

/** What the backend did while the shards ran: tokens moved from one user to another, and tokens new to the registry. */
interface Churn {
  moved: Map<string, { provider: ProviderName; from: string; to: string }>;
  added: Map<string, { provider: ProviderName; userId: string }>;
}

/** The shard (1-based) a user's row belongs to, as `--shard K/4` decides it. */
function shardOf(userId: string): number {
  const { hash } = keysOf(userIdentity(userId));
  for (let index = 1; index <= shards; index++) if (inShard({ index, count: shards }, hash)) return index;
  throw new Error(`user ${userId} is in no shard`);
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Users u0…, 1–3 devices each over FCM and APNs, with varied badges; some devices dead, some users logged out; imported with the CLI. */
async function seedFleet(prefix: string): Promise<Fleet> {
  const url = await freshDatabase(prefix);
  const dir = tempDir();
  const config = writeEmulatorConfig(emulator, {}, dir);
  const devices: Seeded[] = [];
  const unregistered = new Set<string>();
  const dead = new Set<string>();
  for (let user = 0; user < userCount; user++) {
    const userId = `u${user}`;
    if (user % 41 === 7) unregistered.add(userId);
    for (let device = 0; device <= user % 3; device++) {
      const provider: ProviderName = (user + device) % 2 === 0 ? 'fcm' : 'apns';
      const token = provider === 'fcm' ? fcmToken(`${prefix}-${user}-${device}`) : apnsToken(`${prefix}-${user}-${device}`);
      devices.push({ provider, token, userId, badge: (user + 3 * device) % 7 });
      if (devices.length % 29 === 5) dead.add(token);
    }
  }
  const csv = ['provider,token,user_id,apns_topic', ...devices.map((d) => `${d.provider},${d.token},${d.userId},${d.provider === 'apns' ? 'com.example.pushcast' : ''}`)];
  writeFileSync(join(dir, 'devices.csv'), `${csv.join('\n')}\n`);
  // Users with no device at all, too: skipped as unknown.
  const audience = ['user_id', ...Array.from({ length: userCount }, (_, user) => `u${user}`), ...Array.from({ length: 20 }, (_, n) => `ghost${n}`)];
  writeFileSync(join(dir, 'users.csv'), `${audience.join('\n')}\n`);
  const imported = await spawnCli(['devices', '--registry', url, 'import', 'devices.csv'], { cwd: dir });
  expect(imported.code, imported.stderr).toBe(0);

  const backend = await connect(url);
  try {
    // Badges as the app last set them, and logouts with the documented statement, as the backend would.
    await backend.query('UPDATE pushcast.devices d SET badge = k.badge FROM unnest($1::text[], $2::int[]) AS k(token, badge) WHERE d.token = k.token', [
      devices.map((d) => d.token),
      devices.map((d) => d.badge),
    ]);
    for (const device of devices.filter((d) => unregistered.has(d.userId))) await backend.query(sql('logout-device.sql'), [device.provider, device.token]);
  } finally {
    await backend.end();
  }
  emulator.behaviour.dead.clear();
  for (const token of dead) emulator.behaviour.dead.add(token);
  const message = tempFile('m.json', JSON.stringify({ title: 'Sale', body: 'for {{user_id}}', badge: 'increment' }));
  return { url, dir, config, message, devices, byToken: new Map(devices.map((d) => [d.token, d])), unregistered, dead };
}

/**
 * The app's backend while the shards run, with its own connection and the documented statement as
 * written: moves live tokens to a user of another shard and registers new tokens, paced by what
 * the emulator has accepted so that the changes spread over the campaign, until `finished`.
 */
async function churn(fleet: Fleet, finished: Promise<unknown>, label: string): Promise<Churn> {
  let done = false;
  void finished.finally(() => (done = true));
  const moved: Churn['moved'] = new Map();
  const added: Churn['added'] = new Map();
  const live = (userId: string) => !fleet.unregistered.has(userId);
  // Users of the audience's second 2,000-row batch: the shards resolve them while the backend is at work.
  const late = (userId: string) => Number(userId.slice(1)) >= 2000;
  const movable = fleet.devices.filter((d) => live(d.userId) && late(d.userId) && !fleet.dead.has(d.token));
  const targets = [...new Set(movable.map((d) => d.userId))];
  const operations = 300;
  const step = Math.floor(fleet.devices.length / operations / 2);
  const accepted = () => emulator.stats().accepted.fcm + emulator.stats().accepted.apns;
  const backend = await connect(fleet.url);
  try {
    for (let n = 0; n < operations && !done; n++) {
      await waitFor(() => done || accepted() >= n * step, 'the campaign to go on', 60_000);
      if (done) break;
      if (n % 3 === 2) {
        const userId = targets[(n * 7919) % targets.length];
        const provider: ProviderName = n % 2 === 0 ? 'fcm' : 'apns';
        const token = provider === 'fcm' ? fcmToken(`${label}-new-${n}`) : apnsToken(`${label}-new-${n}`);
        await backend.query(sql('register-device.sql'), [userId, provider, token, null, null, null, null, null, provider === 'apns' ? 'com.example.pushcast' : null, null, null]);
        added.set(token, { provider, userId });
      } else {
        const device = movable[(n * 104_729) % movable.length];
        if (moved.has(device.token)) continue;
        const from = device.userId;
        let to = targets[(n * 15_485_863) % targets.length];
        for (let next = 1; shardOf(to) === shardOf(from); next++) to = targets[(n * 15_485_863 + next) % targets.length];
        await backend.query(sql('register-device.sql'), [to, device.provider, device.token, null, null, null, null, null, null, null, null]);
        moved.set(device.token, { provider: device.provider, from, to });
      }
    }
  } finally {
    await backend.end();
  }
  return { moved, added };
}

function sendArgs(fleet: Fleet, campaign: string, shard: number, extra: string[] = []): string[] {
  return [
    'send',
    '--config',
    fleet.config,
    '--registry',
    fleet.url,
    '-a',
    'users.csv',
    '-m',
    fleet.message,
    '--campaign',
    campaign,
    '--shard',
    `${shard}/${shards}`,
    '--json',
    ...extra,
  ];
}

interface Record_ {
  counts: { accepted: number; invalid: number; uncertain: number; skipped: number; targeted: number };
  skippedByReason?: Record<string, number>;
  registry?: { marked: number; heldBack: number };
  uncertain: Array<{ line: number; provider?: ProviderName }>;
}

function recordOf(result: SpawnResult): Record_ {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record_;
}

interface Wire {
  token: string;
  provider: ProviderName;
  badge: number | undefined;
  /** The user the push was rendered for ({{user_id}} in its body). */
  userId: string;
}

/** What the emulator accepted: each push's token, badge and user. */
function wire(): Wire[] {
  return emulator.delivered().map((delivered) => {
    const message = delivered.message as {
      aps?: { badge?: number; alert?: { body?: string } };
      apns?: { payload?: { aps?: { badge?: number } } };
      notification?: { body?: string };
    };
    const aps = delivered.provider === 'apns' ? message.aps : message.apns?.payload?.aps;
    const body = delivered.provider === 'apns' ? message.aps?.alert?.body : message.notification?.body;
    return { token: delivered.token, provider: delivered.provider, badge: aps?.badge, userId: String(body).replace(/^for /, '') };
  });
}

async function registryAfter(url: string): Promise<Map<string, { userId: string | null; valid: boolean; badge: number; invalidReason: string | null }>> {
  const backend = await connect(url);
  try {
    const { rows } = await backend.query<{ token: string; user_id: string | null; valid: boolean; badge: number; invalid_reason: string | null }>(
      'SELECT token, user_id, valid, badge, invalid_reason FROM pushcast.devices',
    );
    return new Map(rows.map((row) => [row.token, { userId: row.user_id, valid: row.valid, badge: row.badge, invalidReason: row.invalid_reason }]));
  } finally {
    await backend.end();
  }
}

/**
 * The acceptance properties, from the emulator's log and the registry after. `maybeSent`: tokens a
 * killed run left in flight (the resumed run reports them uncertain and, by design, does not send
 * them again): they are delivered at most once, and keep their claim and badge.
 */
async function expectEveryDeviceOnce(fleet: Fleet, churned: Churn, records: Record_[], killed?: { shard: number; maybeSent: Set<string> }) {
  const maybeSent = killed?.maybeSent ?? new Set<string>();
  const killedShard = killed?.shard;
  const pushes = wire();
  const stats = emulator.stats();
  // Each token at most once: the emulator's own count and a set.
  expect(stats.duplicates).toBe(0);
  const delivered = new Map(pushes.map((push) => [push.token, push]));
  expect(delivered.size).toBe(pushes.length);
  // The shards' reports account for every push, but for what a killed run sent that no later run lists: what it had in
  // flight (reported uncertain), and tokens it sent that the backend then moved to a user of another shard.
  // (maybeSent is known by line and provider, so it may hold a device of the same user that was reported.)
  const accounted = records.reduce((sum, record) => sum + record.counts.accepted, 0);
  const inFlight = pushes.filter((push) => maybeSent.has(push.token)).length;
  const sentThenMoved = killedShard === undefined ? [] : pushes.filter((push) => churned.moved.get(push.token)?.from === push.userId && shardOf(push.userId) === killedShard);
  expect(accounted).toBeLessThanOrEqual(pushes.length);
  expect(pushes.length - accounted).toBeLessThanOrEqual(inFlight + sentThenMoved.length);
  if (killedShard === undefined) expect(accounted).toBe(pushes.length);

  const touched = (token: string) => churned.moved.has(token);
  // Every device valid and registered for the whole campaign (the backend did not move it): exactly once, to its user.
  const steady = fleet.devices.filter((d) => !fleet.unregistered.has(d.userId) && !fleet.dead.has(d.token) && !touched(d.token));
  const missing = steady.filter((d) => !delivered.has(d.token) && !maybeSent.has(d.token));
  expect(missing.map((d) => `${d.userId} ${d.provider}`)).toEqual([]);
  for (const d of steady) if (delivered.has(d.token)) expect(delivered.get(d.token)!.userId).toBe(d.userId);
  // Nothing of a user who logged out, nothing dead accepted, nothing that was never registered.
  const ofUnregistered = pushes.filter((push) => fleet.unregistered.has(fleet.byToken.get(push.token)?.userId ?? '') && !churned.moved.has(push.token));
  expect(ofUnregistered).toEqual([]);
  expect(pushes.filter((push) => fleet.dead.has(push.token))).toEqual([]);
  expect(pushes.filter((push) => !fleet.byToken.has(push.token) && !churned.added.has(push.token))).toEqual([]);
  // A moved token: at most once (the set above), under the user it left or the one it joined.
  for (const [token, move] of churned.moved) if (delivered.has(token)) expect([move.from, move.to]).toContain(delivered.get(token)!.userId);
  // A new token: to the user that registered it.
  for (const [token, add] of churned.added) if (delivered.has(token)) expect(delivered.get(token)!.userId).toBe(add.userId);

  // Badges: what the push showed is what the registry holds, one more than before; the rest keep theirs.
  const after = await registryAfter(fleet.url);
  // A known gap, kept in sight: a token the killed run claimed, then moved to a user of another shard before it was sent, is
  // skipped there as that shard's duplicate and no longer listed by the resumed run: sent to nobody, its claim and increment kept.
  const stranded = killedShard === undefined ? new Set<string>() : await claimsStrandedBy(fleet.url, 'killed', killedShard, churned, delivered);

  const before = (token: string) => fleet.byToken.get(token)?.badge ?? 0; // a new token starts at 0
  const wrongBadges: string[] = [];
  for (const [token, registered] of after) {
    const push = delivered.get(token);
    const expected = push || maybeSent.has(token) || stranded.has(token) ? before(token) + 1 : before(token);
    if (registered.badge !== expected || (push && push.badge !== expected))
      wrongBadges.push(
        `${token.slice(0, 8)}: before ${before(token)}, wire ${push?.badge}, registry ${registered.badge} ${JSON.stringify({ moved: churned.moved.get(token), added: churned.added.get(token), dead: fleet.dead.has(token), owner: fleet.byToken.get(token)?.userId, shard: shardOf(fleet.byToken.get(token)?.userId ?? churned.added.get(token)!.userId) })}`,
      );
  }
  expect(wrongBadges).toEqual([]);

  // Dead tokens: sent once each (the emulator's answers), marked invalid once (the shards' counts add up to them), nothing else marked.
  const deadSent = [...fleet.dead].filter((token) => !fleet.unregistered.has(fleet.byToken.get(token)!.userId));
  const answers = new Map<string, number>();
  for (const attempt of emulator.attemptLog()) if (fleet.dead.has(attempt.token)) answers.set(attempt.token, (answers.get(attempt.token) ?? 0) + 1);
  expect(deadSent.filter((token) => answers.get(token) !== 1 && !maybeSent.has(token))).toEqual([]);
  // A dead token a killed run had in flight got its answer, but no run knows it: it stays valid until a later campaign tries it.
  const answered = deadSent.filter((token) => answers.has(token));
  const markedInRegistry = [...after].filter(([, device]) => !device.valid).map(([token]) => token);
  expect(markedInRegistry.filter((token) => !answered.includes(token))).toEqual([]);
  expect(answered.filter((token) => !maybeSent.has(token) && !markedInRegistry.includes(token))).toEqual([]);
  expect(records.reduce((sum, record) => sum + (record.registry?.marked ?? 0), 0)).toBe(markedInRegistry.length);

  const summary = {
    users: userCount,
    devices: fleet.devices.length,
    unregisteredUsers: fleet.unregistered.size,
    dead: fleet.dead.size,
    deadSent: deadSent.length,
    deadMarked: markedInRegistry.length,
    moved: churned.moved.size,
    movedDelivered: [...churned.moved].filter(([token]) => delivered.has(token)).length,
    movedToNewUser: [...churned.moved].filter(([token, move]) => delivered.get(token)?.userId === move.to).length,
    added: churned.added.size,
    addedDelivered: [...churned.added.keys()].filter((token) => delivered.has(token)).length,
    delivered: pushes.length,
    maybeSent: maybeSent.size,
    stranded: stranded.size,
    maybeSentDelivered: pushes.filter((push) => maybeSent.has(push.token)).length,
    uncertain: records.map((record) => record.counts.uncertain),
    unreported: pushes.length - accounted,
    perShard: records.map((record) => ({ accepted: record.counts.accepted, invalid: record.counts.invalid, marked: record.registry?.marked, skipped: record.skippedByReason })),
  };
  console.log(JSON.stringify(summary));
  return summary;
}

/** Moved tokens, never delivered, whose claim the killed shard still holds (see `stranded` above). */
async function claimsStrandedBy(url: string, campaign: string, shard: number, churned: Churn, delivered: Map<string, Wire>): Promise<Set<string>> {
  const candidates = [...churned.moved].filter(([token, move]) => shardOf(move.from) === shard && shardOf(move.to) !== shard && !delivered.has(token)).map(([token]) => token);
  const backend = await connect(url);
  try {
    const { rows } = await backend.query<{ token: string }>('SELECT token FROM pushcast.campaign_claims WHERE campaign = $1 AND shard = $2 AND token = ANY($3::text[])', [
      campaign,
      `${shard}/${shards}`,
      candidates,
    ]);
    return new Set(rows.map((row) => row.token));
  } finally {
    await backend.end();
  }
}

describe.skipIf(postgres.skip)('a fleet of shards on one PostgreSQL registry', () => {
  it('4 shards at once while the backend moves and registers tokens: every device once, badges exact, dead tokens marked once', async () => {
    const fleet = await seedFleet('fleet');
    const runs = Array.from({ length: shards }, (_, k) => spawnCli(sendArgs(fleet, 'fleet', k + 1), { cwd: fleet.dir, timeoutMs: 120_000 }));
    const all = Promise.all(runs);
    const churned = await churn(fleet, all, 'fleet');
    const records = (await all).map(recordOf);
    const summary = await expectEveryDeviceOnce(fleet, churned, records);
    // The backend's changes overlapped the campaign: some were resolved by a shard, some skipped as another's.
    expect(summary.moved).toBeGreaterThan(0);
    expect(summary.added).toBeGreaterThan(0);
  });

  it('a pod killed with SIGKILL mid-shard and resumed with the same command: the same holds', async () => {
    const fleet = await seedFleet('killed');
    const slow = 2;
    const slowTokens = new Set(fleet.devices.filter((d) => shardOf(d.userId) === slow).map((d) => d.token));
    const killed = spawnCli(sendArgs(fleet, 'killed', slow, ['--rate', '150']), { cwd: fleet.dir, timeoutMs: 120_000 });
    const others = Array.from({ length: shards }, (_, k) => k + 1)
      .filter((k) => k !== slow)
      .map((k) => spawnCli(sendArgs(fleet, 'killed', k), { cwd: fleet.dir, timeoutMs: 120_000 }));
    const churning = churn(fleet, Promise.all([killed, ...others]), 'killed');
    // Killed once the emulator has taken a good part of that shard's pushes, by event.
    await waitFor(() => emulator.delivered().filter((delivered) => slowTokens.has(delivered.token)).length >= 300, "the slow shard's first pushes", 60_000);
    killed.child.kill('SIGKILL');
    expect((await killed).signal).toBe('SIGKILL');
    const sentBeforeKill = emulator.delivered().filter((delivered) => slowTokens.has(delivered.token)).length;
    expect(sentBeforeKill).toBeLessThan(slowTokens.size / 2);
    const resumed = await spawnCli(sendArgs(fleet, 'killed', slow), { cwd: fleet.dir, timeoutMs: 120_000 });
    const records = [recordOf(resumed), ...(await Promise.all(others)).map(recordOf)];
    const churned = await churning;
    // What the killed run had in flight, the resumed run reports uncertain (by line and provider): maybe delivered, not sent again.
    // users.csv: the header is line 1, user uN line N + 2.
    const uncertainLines = new Set(records[0].uncertain.map((entry) => `${entry.line}|${entry.provider}`));
    const maybeSent = new Set(fleet.devices.filter((d) => uncertainLines.has(`${Number(d.userId.slice(1)) + 2}|${d.provider}`)).map((d) => d.token));
    expect(records[0].counts.uncertain).toBeLessThanOrEqual(maybeSent.size);
    const summary = await expectEveryDeviceOnce(fleet, churned, records, { shard: slow, maybeSent });
    console.log(JSON.stringify({ sentBeforeKill, slowShardDevices: slowTokens.size, resumedAccepted: records[0].counts.accepted }));
    expect(summary.moved).toBeGreaterThan(0);
  });
});
