import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';
import { oneLine, quoted } from '../domain/quote-value.js';
import { ConfigError, InputError } from '../errors.js';

/**
 * The device registry: an embedded SQLite database of users' devices, in the spirit of an
 * `_Installation` table. A user may have several devices; a token is unique per provider.
 */
export interface Device {
  id: number;
  userId: string | null;
  provider: ProviderName;
  /** FCM or APNs token, or the web push endpoint. */
  token: string;
  /** The web push subscription as JSON. */
  subscription: string | null;
  /** APNs topic (bundle id). */
  app: string | null;
  environment: ApnsEnvironment | null;
  platform: string | null;
  locale: string | null;
  timezone: string | null;
  channels: string[];
  valid: boolean;
  invalidReason: string | null;
  invalidAt: string | null;
  /** Logged out (`logout`) or its account deleted (`account-deleted`): it gets nothing until it registers again. */
  unregisteredAt: string | null;
  unregisteredReason: UnregisterReason | null;
  /** The app icon's badge as pushcast last set it (`badge: "increment"` counts up from it). */
  badge: number;
  createdAt: string;
  updatedAt: string;
  lastSeen: string;
}

export type UnregisterReason = 'logout' | 'account-deleted';

export type DeviceInput = Pick<Device, 'provider' | 'token'> &
  Partial<Omit<Device, 'id' | 'provider' | 'token' | 'valid' | 'invalidReason' | 'invalidAt' | 'unregisteredAt' | 'unregisteredReason' | 'badge' | 'createdAt' | 'updatedAt'>> & {
    /** Set the badge (a device reporting its app was opened: 0); otherwise it stays. */
    badge?: number | null;
  };

/** Each migration moves the schema one version up; `user_version` says where a database stands. */
const migrations = [
  `CREATE TABLE devices (
     id INTEGER PRIMARY KEY,
     user_id TEXT,
     provider TEXT NOT NULL CHECK (provider IN ('fcm', 'apns', 'webpush')),
     token TEXT NOT NULL,
     subscription TEXT,
     app TEXT,
     environment TEXT CHECK (environment IN ('sandbox', 'production')),
     platform TEXT,
     locale TEXT,
     timezone TEXT,
     valid INTEGER NOT NULL DEFAULT 1,
     invalid_reason TEXT,
     invalid_at TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     last_seen TEXT NOT NULL,
     UNIQUE (provider, token)
   );
   CREATE INDEX devices_by_user ON devices (user_id, valid);
   CREATE INDEX devices_by_last_seen ON devices (last_seen);
   CREATE TABLE device_channels (
     device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
     channel TEXT NOT NULL,
     PRIMARY KEY (channel, device_id)
   );
   CREATE INDEX device_channels_by_device ON device_channels (device_id);`,
  // The token lifecycle beyond validity: logout and account deletion, and the badge count.
  `ALTER TABLE devices ADD COLUMN unregistered_at TEXT;
   ALTER TABLE devices ADD COLUMN unregistered_reason TEXT CHECK (unregistered_reason IN ('logout', 'account-deleted'));
   ALTER TABLE devices ADD COLUMN badge INTEGER NOT NULL DEFAULT 0;`,
];

type Row = {
  id: number;
  user_id: string | null;
  provider: ProviderName;
  token: string;
  subscription: string | null;
  app: string | null;
  environment: ApnsEnvironment | null;
  platform: string | null;
  locale: string | null;
  timezone: string | null;
  channels: string | null;
  valid: number;
  invalid_reason: string | null;
  invalid_at: string | null;
  unregistered_at: string | null;
  unregistered_reason: UnregisterReason | null;
  badge: number;
  created_at: string;
  updated_at: string;
  last_seen: string;
};

/**
 * What a device is to a send, the first that holds: `invalid` (a provider said so; prune drops
 * it), `unregistered` (logged out, or its account deleted), `stale` (not seen for --max-age),
 * else `valid`: a send tries it.
 */
export type DeviceState = 'valid' | 'invalid' | 'unregistered' | 'stale';

export function deviceState(device: { valid: boolean; unregistered: boolean; stale: boolean }): DeviceState {
  if (!device.valid) return 'invalid';
  if (device.unregistered) return 'unregistered';
  return device.stale ? 'stale' : 'valid';
}

export interface DeviceStats extends Record<DeviceState, number> {
  devices: number;
  users: number;
  byProvider: Record<string, Record<DeviceState, number>>;
  invalidByReason: Record<string, number>;
  unregisteredByReason: Record<string, number>;
}

/** Why prune drops a device; the first that holds. `@staleBefore` NULL: none is stale. */
export type PruneReason = 'invalid' | 'stale';
const prunedAs: Record<PruneReason, string> = { invalid: 'valid = 0', stale: 'valid = 1 AND last_seen < @staleBefore' };

/** A channel name, as the Chabok rule has it: no "/"; "*" means every device. */
export function checkChannel(channel: string): string {
  const name = channel.trim();
  if (name === '' || name.includes('/')) throw new InputError(`channel ${quoted(channel)}: a channel name may not be empty or contain "/"`);
  return name;
}

export class DeviceRegistry {
  private readonly statements: Record<string, Statement>;

  private constructor(
    readonly db: SqliteDatabase,
    readonly path: string,
  ) {
    this.statements = {
      upsert: db.prepare(`
        INSERT INTO devices (user_id, provider, token, subscription, app, environment, platform, locale, timezone, badge, created_at, updated_at, last_seen)
        VALUES (@userId, @provider, @token, @subscription, @app, @environment, @platform, @locale, @timezone, COALESCE(@badge, 0), @now, @now, @lastSeen)
        ON CONFLICT (provider, token) DO UPDATE SET
          user_id = COALESCE(excluded.user_id, user_id), subscription = COALESCE(excluded.subscription, subscription),
          app = COALESCE(excluded.app, app), environment = COALESCE(excluded.environment, environment),
          platform = COALESCE(excluded.platform, platform), locale = COALESCE(excluded.locale, locale),
          timezone = COALESCE(excluded.timezone, timezone),
          valid = CASE WHEN @revive THEN 1 ELSE valid END,
          invalid_reason = CASE WHEN @revive THEN NULL ELSE invalid_reason END,
          invalid_at = CASE WHEN @revive THEN NULL ELSE invalid_at END,
          unregistered_at = CASE WHEN @revive THEN NULL ELSE unregistered_at END,
          unregistered_reason = CASE WHEN @revive THEN NULL ELSE unregistered_reason END,
          badge = COALESCE(@badge, badge),
          updated_at = excluded.updated_at, last_seen = MAX(last_seen, excluded.last_seen)
        RETURNING id`),
      clearChannels: db.prepare('DELETE FROM device_channels WHERE device_id = ?'),
      addChannel: db.prepare('INSERT OR IGNORE INTO device_channels (device_id, channel) VALUES (?, ?)'),
      removeToken: db.prepare('DELETE FROM devices WHERE provider = ? AND token = ?'),
      removeOthers: db.prepare('DELETE FROM devices WHERE user_id = ? AND NOT (provider = ? AND token = ?)'),
      markInvalid: db.prepare('UPDATE devices SET valid = 0, invalid_reason = ?, invalid_at = ?, updated_at = ? WHERE provider = ? AND token = ? AND valid = 1'),
      byUser: db.prepare(`SELECT d.*, (SELECT group_concat(channel) FROM device_channels c WHERE c.device_id = d.id) AS channels FROM devices d WHERE user_id = ? ORDER BY id`),
      byToken: db.prepare('SELECT environment FROM devices WHERE provider = ? AND token = ?'),
      unregisterToken: db.prepare('UPDATE devices SET unregistered_at = @now, unregistered_reason = @reason, updated_at = @now WHERE provider = @provider AND token = @token'),
      unregisterUser: db.prepare('UPDATE devices SET unregistered_at = @now, unregistered_reason = @reason, updated_at = @now WHERE user_id = @userId AND unregistered_at IS NULL'),
      setBadge: db.prepare('UPDATE devices SET badge = ? WHERE provider = ? AND token = ?'),
      deviceByToken: db.prepare(
        `SELECT d.*, (SELECT group_concat(channel) FROM device_channels c WHERE c.device_id = d.id) AS channels FROM devices d WHERE provider = ? AND token = ?`,
      ),
    };
  }

  /** Opens (creating it on first use) and migrates a registry. WAL: a send may read while an import writes. */
  static open(path: string): DeviceRegistry {
    let Database: typeof import('better-sqlite3');
    try {
      Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
    } catch (error) {
      throw new ConfigError(`the device registry needs better-sqlite3, which did not load: ${(error as Error).message.split('\n')[0]}`);
    }
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000'); // another pushcast process may hold the write lock for a batch
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) throw new ConfigError(`${oneLine(path)} was written by a newer pushcast (schema ${version}); upgrade pushcast`);
    for (let next = version; next < migrations.length; next++) {
      db.transaction(() => {
        db.exec(migrations[next]);
        db.pragma(`user_version = ${next + 1}`);
      })();
    }
    return new DeviceRegistry(db, path);
  }

  /**
   * Adds or updates devices in one transaction. An import never revives a device marked invalid
   * (the export it came from may predate the prune); a device registering itself does.
   */
  upsert(devices: DeviceInput[], now = new Date().toISOString()): void {
    this.db.transaction(() => {
      for (const device of devices) this.upsertOne(device, now, false);
    })();
  }

  private upsertOne(device: DeviceInput, now: string, revive: boolean): number {
    const { id } = this.statements.upsert.get({
      userId: device.userId ?? null,
      provider: device.provider,
      token: device.token,
      subscription: device.subscription ?? null,
      app: device.app ?? null,
      environment: device.environment ?? null,
      platform: device.platform ?? null,
      locale: device.locale ?? null,
      timezone: device.timezone ?? null,
      badge: device.badge ?? null,
      now,
      lastSeen: device.lastSeen ?? now,
      revive: revive ? 1 : 0,
    }) as { id: number };
    if (device.channels) {
      this.statements.clearChannels.run(id);
      for (const channel of device.channels) this.statements.addChannel.run(id, checkChannel(channel));
    }
    return id;
  }

  /**
   * A device registers its token. `replaces`: the token it had before a refresh (reinstall,
   * cleared data) goes. `singleDevice`: apps with one device per account drop the user's others.
   */
  register(device: DeviceInput & { userId: string }, options: { replaces?: string; singleDevice?: boolean } = {}): void {
    this.db.transaction(() => {
      if (options.replaces) {
        // The same device with a new token: what it declared (locale, time zone, channels,
        // environment, app) stays unless the registration says otherwise.
        const old = this.statements.deviceByToken.get(device.provider, options.replaces) as Row | undefined;
        if (old) device = { ...device, ...inheritedFrom(toDevice(old), device) };
        this.statements.removeToken.run(device.provider, options.replaces);
      }
      if (options.singleDevice) this.statements.removeOthers.run(device.userId, device.provider, device.token);
      this.upsertOne(device, new Date().toISOString(), true);
    })();
  }

  /** A user's devices, valid or not, with their channels. */
  devicesOf(userId: string): Device[] {
    return (this.statements.byUser.all(userId) as Row[]).map(toDevice);
  }

  /** The environment a device declared, if it is in the registry: BadDeviceToken counts only when it was right. */
  environmentOf(provider: ProviderName, token: string): ApnsEnvironment | null | undefined {
    const row = this.statements.byToken.get(provider, token) as { environment: ApnsEnvironment | null } | undefined;
    return row ? row.environment : undefined;
  }

  /** Logout (one token) or account deletion (every device of a user): they get nothing until they register again. Returns how many devices changed. */
  unregister(target: { provider: ProviderName; token: string } | { userId: string }, now = new Date().toISOString()): number {
    if ('userId' in target) return this.statements.unregisterUser.run({ userId: target.userId, reason: 'account-deleted', now }).changes;
    return this.statements.unregisterToken.run({ ...target, reason: 'logout', now }).changes;
  }

  /** The badges accepted sends set, in one transaction. */
  setBadges(entries: Array<{ provider: ProviderName; token: string; badge: number }>): void {
    this.db.transaction(() => {
      for (const entry of entries) this.statements.setBadge.run(entry.badge, entry.provider, entry.token);
    })();
  }

  /** Marks tokens a provider called invalid; returns how many devices changed. */
  markInvalid(entries: Array<{ provider: ProviderName; token: string; reason: string }>, now = new Date().toISOString()): number {
    let changed = 0;
    this.db.transaction(() => {
      for (const entry of entries) changed += this.statements.markInvalid.run(entry.reason, now, now, entry.provider, entry.token).changes;
    })();
    return changed;
  }

  /** Every device in a channel ("*": every device), one page at a time, so a channel of millions streams. */
  *inChannel(channel: string, onlyValid = true): Generator<Device> {
    const name = channel === '*' ? '*' : checkChannel(channel);
    const filter = `${onlyValid ? 'd.valid = 1' : '1'} ${name === '*' ? '' : 'AND d.id IN (SELECT device_id FROM device_channels WHERE channel = @channel)'}`;
    for (const row of this.pages(filter, { channel: name })) yield toDevice(row);
  }

  /** The devices matching a WHERE clause, with their channels, 1,000 at a time in id order. */
  private *pages(filter: string, parameters: Record<string, unknown>, columns = ''): Generator<Row & Record<string, unknown>> {
    const page = this.db.prepare(
      `SELECT d.*, (SELECT group_concat(channel) FROM device_channels c WHERE c.device_id = d.id) AS channels ${columns} FROM devices d WHERE d.id > @after AND (${filter}) ORDER BY d.id LIMIT 1000`,
    );
    let after = 0;
    for (;;) {
      const rows = page.all({ ...parameters, after }) as Array<Row & Record<string, unknown>>;
      if (rows.length === 0) return;
      yield* rows;
      after = rows[rows.length - 1].id;
    }
  }

  /** Drops invalid devices and, with `staleBefore`, those not seen since then. */
  prune(options: { staleBefore?: string }): Record<PruneReason, number> {
    const staleBefore = options.staleBefore ?? null;
    return this.db.transaction(() => {
      const invalid = this.db.prepare(`DELETE FROM devices WHERE ${prunedAs.invalid}`).run().changes;
      const stale = this.db.prepare(`DELETE FROM devices WHERE ${prunedAs.stale}`).run({ staleBefore }).changes;
      return { invalid, stale };
    })();
  }

  /** What `prune` would drop now, by reason, and how many devices the registry holds. */
  pruneCounts(options: { staleBefore?: string }): Record<PruneReason, number> & { devices: number } {
    return this.db
      .prepare(`SELECT COUNT(*) AS devices, COALESCE(SUM(${prunedAs.invalid}), 0) AS invalid, COALESCE(SUM(${prunedAs.stale}), 0) AS stale FROM devices`)
      .get({ staleBefore: options.staleBefore ?? null }) as Record<PruneReason, number> & { devices: number };
  }

  /** The devices `prune` would drop now, each with why, one page at a time. */
  *pruneCandidates(options: { staleBefore?: string }): Generator<Device & { reason: PruneReason }> {
    const rows = this.pages(
      `(${prunedAs.invalid}) OR (${prunedAs.stale})`,
      { staleBefore: options.staleBefore ?? null },
      `, CASE WHEN ${prunedAs.invalid} THEN 'invalid' ELSE 'stale' END AS reason`,
    );
    for (const row of rows) yield { ...toDevice(row), reason: row.reason as PruneReason };
  }

  /** The devices by state (see `deviceState`), in all and per provider, and the reasons of the invalid and unregistered ones. */
  stats(options: { staleBefore?: string } = {}): DeviceStats {
    const states = { valid: 0, invalid: 0, unregistered: 0, stale: 0 };
    const stats: DeviceStats = {
      devices: 0,
      ...states,
      users: (this.db.prepare('SELECT COUNT(DISTINCT user_id) AS n FROM devices WHERE user_id IS NOT NULL').get() as { n: number }).n,
      byProvider: {},
      invalidByReason: {},
      unregisteredByReason: {},
    };
    const groups = this.db
      .prepare(
        `SELECT provider, valid, unregistered_at IS NOT NULL AS unregistered, COALESCE(last_seen < @staleBefore, 0) AS stale, COUNT(*) AS n
         FROM devices GROUP BY provider, valid, unregistered, stale`,
      )
      .all({ staleBefore: options.staleBefore ?? null }) as Array<{ provider: string; valid: number; unregistered: number; stale: number; n: number }>;
    for (const group of groups) {
      const state = deviceState({ valid: group.valid === 1, unregistered: group.unregistered === 1, stale: group.stale === 1 });
      stats.devices += group.n;
      stats[state] += group.n;
      stats.byProvider[group.provider] ??= { ...states };
      stats.byProvider[group.provider][state] += group.n;
    }
    const reasons = (sql: string) => Object.fromEntries((this.db.prepare(sql).all() as Array<{ reason: string; n: number }>).map((row) => [row.reason, row.n]));
    stats.invalidByReason = reasons('SELECT invalid_reason AS reason, COUNT(*) AS n FROM devices WHERE valid = 0 GROUP BY invalid_reason ORDER BY invalid_reason');
    stats.unregisteredByReason = reasons(
      'SELECT unregistered_reason AS reason, COUNT(*) AS n FROM devices WHERE valid = 1 AND unregistered_at IS NOT NULL GROUP BY unregistered_reason ORDER BY unregistered_reason',
    );
    return stats;
  }

  close(): void {
    this.db.close();
  }
}

/** The fields of a replaced device that a registration leaves unsaid. */
function inheritedFrom(old: Device, given: DeviceInput): Pick<DeviceInput, 'app' | 'environment' | 'platform' | 'locale' | 'timezone' | 'channels'> {
  return {
    app: given.app ?? old.app,
    environment: given.environment ?? old.environment,
    platform: given.platform ?? old.platform,
    locale: given.locale ?? old.locale,
    timezone: given.timezone ?? old.timezone,
    channels: given.channels ?? old.channels,
  };
}

function toDevice(row: Row): Device {
  return {
    id: row.id,
    userId: row.user_id,
    provider: row.provider,
    token: row.token,
    subscription: row.subscription,
    app: row.app,
    environment: row.environment,
    platform: row.platform,
    locale: row.locale,
    timezone: row.timezone,
    channels: row.channels ? row.channels.split(',') : [],
    valid: row.valid === 1,
    invalidReason: row.invalid_reason,
    invalidAt: row.invalid_at,
    unregisteredAt: row.unregistered_at,
    unregisteredReason: row.unregistered_reason,
    badge: row.badge,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSeen: row.last_seen,
  };
}
