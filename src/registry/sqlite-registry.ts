import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApnsEnvironment } from '../domain/recipient.js';
import { oneLine } from '../domain/quote-value.js';
import { ConfigError, RegistryError } from '../errors.js';
import { isBusy, openSqlite, type SqliteConnection, type SqliteDriver, type SqliteStatement as Statement } from './sqlite-driver.js';
import {
  checkAttributes,
  checkChannel,
  claimRetentionDays,
  addByUser,
  deviceFromColumns,
  capTargetsOf,
  deviceKey,
  overCap,
  deviceState,
  inheritedFrom,
  type CampaignsReaching,
  type CapTargets,
  type Claim,
  type ClaimCap,
  type Device,
  type DeviceColumns,
  type DeviceInput,
  type DeviceKey,
  type DeviceRegistry,
  type DeviceSelection,
  type DeviceStats,
  type PruneOptions,
  type PruneReason,
  type RegisterOptions,
  type RegistryFinding,
} from './registry.js';
import type { DeviceQuery } from './device-query.js';
import { querySql } from './query-sql.js';

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
  // Which shard of which campaign took each device (see DeviceRegistry.claim).
  `CREATE TABLE campaign_claims (
     campaign TEXT NOT NULL,
     provider TEXT NOT NULL,
     token TEXT NOT NULL,
     shard TEXT NOT NULL,
     user_id TEXT,
     badge_counted INTEGER NOT NULL DEFAULT 0,
     claimed_at TEXT NOT NULL,
     PRIMARY KEY (campaign, provider, token)
   );
   CREATE INDEX campaign_claims_by_age ON campaign_claims (claimed_at);`,
  // What else is known of a device, as a JSON object of text values (see DeviceRegistry.setAttributes).
  `ALTER TABLE devices ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';`,
  // The claims a campaign keeps are the send history a frequency cap counts, by user and by device.
  `CREATE INDEX campaign_claims_by_user ON campaign_claims (user_id, claimed_at);
   CREATE INDEX campaign_claims_by_device ON campaign_claims (provider, token, claimed_at);`,
];

type Row = DeviceColumns & { channels: string | null; valid: number; attributes: string };

const prunedAs: Record<PruneReason, string> = { invalid: 'valid = 0', stale: 'valid = 1 AND last_seen < @staleBefore' };
const withChannels = '(SELECT group_concat(channel) FROM device_channels c WHERE c.device_id = d.id) AS channels';
/** A row no newer than what the registry holds leaves the device as it is. */
const ifNewer = (column: string, value: string) => `${column} = CASE WHEN excluded.last_seen >= last_seen THEN ${value} ELSE ${column} END`;
/** A registration revives a device marked invalid or unregistered only if it came after the mark. */
const revives = "@revive AND excluded.last_seen >= MAX(COALESCE(invalid_at, ''), COALESCE(unregistered_at, ''))";
/** User IDs per query when a send resolves a batch of users. */
const usersPerQuery = 500;
/** How long a write waits for another process's before it gives up, in all. */
const busyBudgetMs = 30_000;

/** The embedded registry: one SQLite file, WAL, for one machine. */
export class SqliteRegistry implements DeviceRegistry {
  readonly backend = 'sqlite';
  private readonly statements: Record<string, Statement>;
  private readonly usersStatements = new Map<number, Statement>();

  private constructor(
    readonly db: SqliteConnection,
    readonly label: string,
  ) {
    this.statements = {
      upsert: db.prepare(`
        INSERT INTO devices (user_id, provider, token, subscription, app, environment, platform, locale, timezone, attributes, badge, created_at, updated_at, last_seen)
        VALUES (@userId, @provider, @token, @subscription, @app, @environment, @platform, @locale, @timezone, @attributes, COALESCE(@badge, 0), @now, @now, @lastSeen)
        ON CONFLICT (provider, token) DO UPDATE SET
          ${ifNewer('user_id', 'COALESCE(excluded.user_id, user_id)')}, ${ifNewer('subscription', 'COALESCE(excluded.subscription, subscription)')},
          ${ifNewer('app', 'COALESCE(excluded.app, app)')}, ${ifNewer('environment', 'COALESCE(excluded.environment, environment)')},
          ${ifNewer('platform', 'COALESCE(excluded.platform, platform)')}, ${ifNewer('locale', 'COALESCE(excluded.locale, locale)')},
          ${ifNewer('timezone', 'COALESCE(excluded.timezone, timezone)')}, ${ifNewer('attributes', 'json_patch(attributes, excluded.attributes)')},
          valid = CASE WHEN ${revives} THEN 1 ELSE valid END,
          invalid_reason = CASE WHEN ${revives} THEN NULL ELSE invalid_reason END,
          invalid_at = CASE WHEN ${revives} THEN NULL ELSE invalid_at END,
          unregistered_reason = CASE WHEN ${revives} THEN NULL ELSE unregistered_reason END,
          unregistered_at = CASE WHEN ${revives} THEN NULL ELSE unregistered_at END,
          badge = COALESCE(@badge, badge),
          ${ifNewer('updated_at', 'excluded.updated_at')}, last_seen = MAX(last_seen, excluded.last_seen)
        RETURNING id, last_seen`),
      clearChannels: db.prepare('DELETE FROM device_channels WHERE device_id = ?'),
      addChannel: db.prepare('INSERT OR IGNORE INTO device_channels (device_id, channel) VALUES (?, ?)'),
      removeToken: db.prepare('DELETE FROM devices WHERE provider = ? AND token = ?'),
      removeOthers: db.prepare('DELETE FROM devices WHERE user_id = ? AND NOT (provider = ? AND token = ?)'),
      markInvalid: db.prepare('UPDATE devices SET valid = 0, invalid_reason = ?, invalid_at = ?, updated_at = ? WHERE provider = ? AND token = ? AND valid = 1'),
      byUser: db.prepare(`SELECT d.*, ${withChannels} FROM devices d WHERE user_id = ? ORDER BY id`),
      byToken: db.prepare('SELECT environment FROM devices WHERE provider = ? AND token = ?'),
      unregisterToken: db.prepare('UPDATE devices SET unregistered_at = @now, unregistered_reason = @reason, updated_at = @now WHERE provider = @provider AND token = @token'),
      unregisterUser: db.prepare('UPDATE devices SET unregistered_at = @now, unregistered_reason = @reason, updated_at = @now WHERE user_id = @userId AND unregistered_at IS NULL'),
      incrementBadge: db.prepare('UPDATE devices SET badge = badge + 1 WHERE provider = ? AND token = ? RETURNING badge'),
      badgeOf: db.prepare('SELECT badge FROM devices WHERE provider = ? AND token = ?'),
      decrementBadge: db.prepare('UPDATE devices SET badge = MAX(badge - 1, 0) WHERE provider = ? AND token = ?'),
      newClaim: db.prepare(
        'INSERT INTO campaign_claims (campaign, provider, token, shard, user_id, badge_counted, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      claimOf: db.prepare('SELECT shard, user_id, badge_counted FROM campaign_claims WHERE campaign = ? AND provider = ? AND token = ?'),
      dropClaim: db.prepare('DELETE FROM campaign_claims WHERE campaign = ? AND shard = ? AND provider = ? AND token = ? RETURNING badge_counted'),
      copy: db.prepare(`
        INSERT INTO devices (user_id, provider, token, subscription, app, environment, platform, locale, timezone, attributes, valid, invalid_reason, invalid_at,
                             unregistered_at, unregistered_reason, badge, created_at, updated_at, last_seen)
        VALUES (@userId, @provider, @token, @subscription, @app, @environment, @platform, @locale, @timezone, @attributes, @valid, @invalidReason, @invalidAt,
                @unregisteredAt, @unregisteredReason, @badge, @createdAt, @updatedAt, @lastSeen)
        ON CONFLICT (provider, token) DO UPDATE SET
          user_id = excluded.user_id, subscription = excluded.subscription, app = excluded.app, environment = excluded.environment,
          platform = excluded.platform, locale = excluded.locale, timezone = excluded.timezone, attributes = excluded.attributes, valid = excluded.valid,
          invalid_reason = excluded.invalid_reason, invalid_at = excluded.invalid_at, unregistered_at = excluded.unregistered_at,
          unregistered_reason = excluded.unregistered_reason, badge = excluded.badge, created_at = excluded.created_at,
          updated_at = excluded.updated_at, last_seen = excluded.last_seen
        RETURNING id`),
      deviceByToken: db.prepare(`SELECT d.*, ${withChannels} FROM devices d WHERE provider = ? AND token = ?`),
    };
  }

  /** Opens (creating it on first use) and migrates a registry. WAL: a send may read while an import writes. */
  static open(path: string, driver?: SqliteDriver): SqliteRegistry {
    mkdirSync(dirname(path), { recursive: true });
    const db = openSqlite(path, driver);
    db.pragma('journal_mode = WAL'); // waits out another process's lock: the driver sets busy_timeout
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    const version = Number(db.pragma('user_version'));
    if (version > migrations.length) throw new ConfigError(`${oneLine(path)} was written by a newer pushcast (schema ${version}); upgrade pushcast`);
    for (let next = version; next < migrations.length; next++) {
      writeTransaction(db, path, () => {
        // Another process may have migrated while this one waited for the lock.
        if (Number(db.pragma('user_version')) !== next) return;
        db.exec(migrations[next]);
        db.pragma(`user_version = ${next + 1}`);
      });
    }
    return new SqliteRegistry(db, path);
  }

  private write<T>(work: () => T): T {
    return writeTransaction(this.db, this.label, work);
  }

  async upsert(devices: DeviceInput[], now = new Date().toISOString()): Promise<void> {
    this.write(() => {
      for (const device of devices) this.upsertOne(device, now, false);
    });
  }

  private upsertOne(device: DeviceInput, now: string, revive: boolean): number {
    const lastSeen = device.lastSeen ?? now;
    const { id, last_seen } = this.statements.upsert.get({
      userId: device.userId ?? null,
      provider: device.provider,
      token: device.token,
      subscription: device.subscription ?? null,
      app: device.app ?? null,
      environment: device.environment ?? null,
      platform: device.platform ?? null,
      locale: device.locale ?? null,
      timezone: device.timezone ?? null,
      attributes: JSON.stringify(checkAttributes(device.attributes ?? {})),
      badge: device.badge ?? null,
      now,
      lastSeen,
      revive: revive ? 1 : 0,
    }) as { id: number; last_seen: string };
    // Channels go with the rest of the row: an older one leaves them too.
    if (device.channels && last_seen === lastSeen) {
      this.statements.clearChannels.run(id);
      for (const channel of device.channels) this.statements.addChannel.run(id, checkChannel(channel));
    }
    return id;
  }

  async register(device: DeviceInput & { userId: string }, options: RegisterOptions = {}): Promise<void> {
    this.write(() => {
      if (options.replaces) {
        const old = this.statements.deviceByToken.get(device.provider, options.replaces) as Row | undefined;
        if (old) device = { ...device, ...inheritedFrom(toDevice(old), device) };
        this.statements.removeToken.run(device.provider, options.replaces);
      }
      if (options.singleDevice) this.statements.removeOthers.run(device.userId, device.provider, device.token);
      this.upsertOne(device, new Date().toISOString(), true);
    });
  }

  async devicesOf(userId: string): Promise<Device[]> {
    return (this.statements.byUser.all(userId) as Row[]).map(toDevice);
  }

  async devicesOfUsers(userIds: readonly string[], where?: DeviceQuery): Promise<Map<string, Device[]>> {
    const byUser = new Map<string, Device[]>();
    const query = where && querySql(where, 'sqlite', (index) => `@q${index}`);
    for (let start = 0; start < userIds.length; start += usersPerQuery) {
      const chunk = userIds.slice(start, start + usersPerQuery);
      if (!query) {
        addByUser(byUser, (this.byUsers(chunk.length).all(...chunk) as Row[]).map(toDevice));
        continue;
      }
      const users = Object.fromEntries(chunk.map((userId, index) => [`u${index}`, userId]));
      const statement = this.db.prepare(
        `SELECT d.*, ${withChannels}, (${query.sql}) AS matches_query FROM devices d WHERE user_id IN (${chunk.map((_, index) => `@u${index}`).join(',')}) ORDER BY id`,
      );
      addByUser(byUser, (statement.all({ ...users, ...namedValues(query.values) }) as Row[]).map(toDevice));
    }
    return byUser;
  }

  /** The statement that reads the devices of `count` users, prepared once for each count (a send's batches are all full but its last). */
  private byUsers(count: number): Statement {
    let statement = this.usersStatements.get(count);
    if (!statement) {
      statement = this.db.prepare(`SELECT d.*, ${withChannels} FROM devices d WHERE user_id IN (${Array(count).fill('?').join(',')}) ORDER BY id`);
      this.usersStatements.set(count, statement);
    }
    return statement;
  }

  async devicesByToken(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, Device>> {
    const found = new Map<string, Device>();
    for (const device of devices) {
      const row = this.statements.deviceByToken.get(device.provider, device.token) as Row | undefined;
      if (row) found.set(deviceKey(device), toDevice(row));
    }
    return found;
  }

  async environmentsOf(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, ApnsEnvironment | null>> {
    const found = new Map<string, ApnsEnvironment | null>();
    for (const device of devices) {
      const row = this.statements.byToken.get(device.provider, device.token) as { environment: ApnsEnvironment | null } | undefined;
      if (row) found.set(deviceKey(device), row.environment);
    }
    return found;
  }

  async unregister(target: DeviceKey | { userId: string }, now = new Date().toISOString()): Promise<number> {
    return this.write(() => {
      if ('userId' in target) return this.statements.unregisterUser.run({ userId: target.userId, reason: 'account-deleted', now }).changes;
      return this.statements.unregisterToken.run({ provider: target.provider, token: target.token, reason: 'logout', now }).changes;
    });
  }

  async markInvalid(entries: ReadonlyArray<DeviceKey & { reason: string }>, now = new Date().toISOString()): Promise<number> {
    return this.write(() => {
      let changed = 0;
      for (const entry of entries) changed += this.statements.markInvalid.run(entry.reason, now, now, entry.provider, entry.token).changes;
      return changed;
    });
  }

  async claim(
    campaign: string,
    shard: string,
    devices: ReadonlyArray<DeviceKey & { userId: string | null; uncapped?: boolean }>,
    incrementBadge: boolean,
    cap?: ClaimCap,
  ): Promise<Map<string, Claim>> {
    const now = new Date().toISOString();
    // One writer at a time (an immediate transaction): the cap counted here holds until the claims are made.
    return this.write(() => {
      const claims = new Map<string, Claim>();
      if (cap) {
        const targets = capTargetsOf(devices, cap);
        const refused = overCap(devices, cap, this.reaching({ userIds: targets.userIds }, cap.since, campaign), this.reaching({ devices: targets.devices }, cap.since, campaign));
        for (const [key, count] of refused) claims.set(key, { granted: false, capped: count });
      }
      for (const device of devices) {
        if (claims.has(deviceKey(device))) continue;
        const isNew = this.statements.newClaim.run(campaign, device.provider, device.token, shard, device.userId, incrementBadge ? 1 : 0, now).changes === 1;
        if (isNew) {
          const counted = incrementBadge ? (this.statements.incrementBadge.get(device.provider, device.token) as { badge: number } | undefined) : undefined;
          claims.set(deviceKey(device), { granted: true, ...(counted ? { badge: counted.badge } : {}) });
          continue;
        }
        const held = this.statements.claimOf.get(campaign, device.provider, device.token) as { shard: string; user_id: string | null };
        if (held.shard !== shard) {
          claims.set(deviceKey(device), { granted: false, shard: held.shard, userId: held.user_id });
          continue;
        }
        const current = incrementBadge ? (this.statements.badgeOf.get(device.provider, device.token) as { badge: number } | undefined) : undefined;
        claims.set(deviceKey(device), { granted: true, ...(current ? { badge: current.badge } : {}) });
      }
      return claims;
    });
  }

  async firstClaimOf(campaign: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT MIN(claimed_at) AS first FROM campaign_claims WHERE campaign = ?').get(campaign) as { first: string | null }).first ?? undefined;
  }

  async campaignsReaching(targets: CapTargets, since: string, campaign: string): Promise<Map<string, CampaignsReaching>> {
    return this.reaching(targets, since, campaign);
  }

  private reaching(targets: CapTargets, since: string, campaign: string): Map<string, CampaignsReaching> {
    const found = new Map<string, CampaignsReaching>();
    const counted = `COUNT(DISTINCT CASE WHEN campaign <> @campaign THEN campaign END) AS campaigns, MAX(CASE WHEN campaign <> @campaign THEN claimed_at END) AS last_at,
       MAX(campaign = @campaign) AS mine FROM campaign_claims`;
    type Counted = { campaigns: number; last_at: string | null; mine: number | null };
    const reaching = (row: Counted): CampaignsReaching => ({ campaigns: row.campaigns, lastAt: row.last_at, mine: row.mine === 1 });
    if ('userIds' in targets) {
      for (let start = 0; start < targets.userIds.length; start += usersPerQuery) {
        const chunk = targets.userIds.slice(start, start + usersPerQuery);
        const users = Object.fromEntries(chunk.map((userId, index) => [`u${index}`, userId]));
        const rows = this.db
          .prepare(`SELECT user_id, ${counted} WHERE user_id IN (${chunk.map((_, index) => `@u${index}`).join(',')}) AND claimed_at >= @since GROUP BY user_id`)
          .all({ ...users, since, campaign }) as Array<Counted & { user_id: string }>;
        for (const row of rows) found.set(row.user_id, reaching(row));
      }
      return found;
    }
    const byDevice = this.db.prepare(`SELECT ${counted} WHERE provider = @provider AND token = @token AND claimed_at >= @since`);
    for (const device of targets.devices) {
      const row = byDevice.get({ provider: device.provider, token: device.token, since, campaign }) as Counted;
      if (row.campaigns > 0 || row.mine === 1) found.set(deviceKey(device), reaching(row));
    }
    return found;
  }

  async release(campaign: string, shard: string, devices: ReadonlyArray<DeviceKey>, decrementBadge: boolean): Promise<void> {
    this.write(() => {
      for (const device of devices) {
        const dropped = this.statements.dropClaim.get(campaign, shard, device.provider, device.token) as { badge_counted: number } | undefined;
        if (dropped?.badge_counted && decrementBadge) this.statements.decrementBadge.run(device.provider, device.token);
      }
    });
  }

  async incrementBadges(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, number>> {
    return this.write(() => {
      const badges = new Map<string, number>();
      for (const device of devices) {
        const row = this.statements.incrementBadge.get(device.provider, device.token) as { badge: number } | undefined;
        if (row) badges.set(deviceKey(device), row.badge);
      }
      return badges;
    });
  }

  async copyIn(devices: Device[]): Promise<void> {
    this.write(() => {
      for (const device of devices) {
        const { id } = this.statements.copy.get({ ...device, attributes: JSON.stringify(device.attributes ?? {}), valid: device.valid ? 1 : 0 }) as { id: number };
        this.statements.clearChannels.run(id);
        for (const channel of device.channels) this.statements.addChannel.run(id, channel);
      }
    });
  }

  async *selectDevices(selection: DeviceSelection): AsyncGenerator<Device> {
    const channel = selection.channel === undefined || selection.channel === '*' ? undefined : checkChannel(selection.channel);
    const query = selection.where && querySql(selection.where, 'sqlite', (index) => `@q${index}`);
    const filter = [
      selection.includeInvalid ? '1' : 'd.valid = 1',
      ...(channel ? ['d.id IN (SELECT device_id FROM device_channels WHERE channel = @channel)'] : []),
      ...(query ? [query.sql] : []),
    ].join(' AND ');
    for (const row of this.pages(filter, { channel, ...namedValues(query?.values ?? []) })) yield toDevice(row);
  }

  async attributeNames(): Promise<string[]> {
    const rows = this.db.prepare("SELECT DISTINCT j.key AS name FROM devices d, json_each(d.attributes) j WHERE d.attributes <> '{}' ORDER BY 1").all() as Array<{ name: string }>;
    return rows.map((row) => row.name);
  }

  async setAttributes(target: DeviceKey | { userId: string }, changes: Record<string, string | null>, now = new Date().toISOString()): Promise<number> {
    const patch = JSON.stringify(checkAttributes(changes));
    return this.write(() => {
      const set = 'UPDATE devices SET attributes = json_patch(attributes, @patch), updated_at = @now';
      if ('userId' in target) return this.db.prepare(`${set} WHERE user_id = @userId`).run({ patch, now, userId: target.userId }).changes;
      return this.db.prepare(`${set} WHERE provider = @provider AND token = @token`).run({ patch, now, provider: target.provider, token: target.token }).changes;
    });
  }

  /** The devices matching a WHERE clause, with their channels, 1,000 at a time in id order. */
  private *pages(filter: string, parameters: Record<string, unknown>, columns = ''): Generator<Row & Record<string, unknown>> {
    const page = this.db.prepare(`SELECT d.*, ${withChannels} ${columns} FROM devices d WHERE d.id > @after AND (${filter}) ORDER BY d.id LIMIT 1000`);
    let after = 0;
    for (;;) {
      const rows = page.all({ ...parameters, after }) as Array<Row & Record<string, unknown>>;
      if (rows.length === 0) return;
      yield* rows;
      after = rows[rows.length - 1].id;
    }
  }

  async prune(options: PruneOptions): Promise<Record<PruneReason, number>> {
    const staleBefore = options.staleBefore ?? null;
    const claimsBefore = new Date(Date.now() - claimRetentionDays * 86_400_000).toISOString();
    return this.write(() => {
      const invalid = this.db.prepare(`DELETE FROM devices WHERE ${prunedAs.invalid}`).run().changes;
      const stale = this.db.prepare(`DELETE FROM devices WHERE ${prunedAs.stale}`).run({ staleBefore }).changes;
      this.db.prepare('DELETE FROM campaign_claims WHERE claimed_at < ?').run(claimsBefore);
      return { invalid, stale };
    });
  }

  async pruneCounts(options: PruneOptions): Promise<Record<PruneReason, number> & { devices: number }> {
    return this.db
      .prepare(`SELECT COUNT(*) AS devices, COALESCE(SUM(${prunedAs.invalid}), 0) AS invalid, COALESCE(SUM(${prunedAs.stale}), 0) AS stale FROM devices`)
      .get({ staleBefore: options.staleBefore ?? null }) as Record<PruneReason, number> & { devices: number };
  }

  async *pruneCandidates(options: PruneOptions): AsyncGenerator<Device & { reason: PruneReason }> {
    const rows = this.pages(
      `(${prunedAs.invalid}) OR (${prunedAs.stale})`,
      { staleBefore: options.staleBefore ?? null },
      `, CASE WHEN ${prunedAs.invalid} THEN 'invalid' ELSE 'stale' END AS reason`,
    );
    for (const row of rows) yield { ...toDevice(row), reason: row.reason as PruneReason };
  }

  async stats(options: { staleBefore?: string } = {}): Promise<DeviceStats> {
    const groups = this.db
      .prepare(
        `SELECT provider, valid, unregistered_at IS NOT NULL AS unregistered, COALESCE(last_seen < @staleBefore, 0) AS stale, COUNT(*) AS n
         FROM devices GROUP BY provider, valid, unregistered, stale`,
      )
      .all({ staleBefore: options.staleBefore ?? null }) as Array<{ provider: string; valid: number; unregistered: number; stale: number; n: number }>;
    const reasons = (sql: string) => Object.fromEntries((this.db.prepare(sql).all() as Array<{ reason: string; n: number }>).map((row) => [row.reason, row.n]));
    return tallyStats({
      users: (this.db.prepare('SELECT COUNT(DISTINCT user_id) AS n FROM devices WHERE user_id IS NOT NULL').get() as { n: number }).n,
      groups: groups.map((group) => ({ ...group, valid: group.valid === 1, unregistered: group.unregistered === 1, stale: group.stale === 1 })),
      invalidByReason: reasons('SELECT invalid_reason AS reason, COUNT(*) AS n FROM devices WHERE valid = 0 GROUP BY invalid_reason ORDER BY invalid_reason'),
      unregisteredByReason: reasons(
        'SELECT unregistered_reason AS reason, COUNT(*) AS n FROM devices WHERE valid = 1 AND unregistered_at IS NOT NULL GROUP BY unregistered_reason ORDER BY unregistered_reason',
      ),
    });
  }

  async health(): Promise<RegistryFinding[]> {
    const devices = (this.db.prepare('SELECT COUNT(*) AS n FROM devices').get() as { n: number }).n;
    const version = Number(this.db.pragma('user_version'));
    return [{ ok: true, text: `SQLite file ${this.label}: schema version ${version} of ${migrations.length}, ${devices} devices, WAL; one machine only` }];
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * One write transaction, begun IMMEDIATE: a deferred one that reads first and then writes fails
 * at once with SQLITE_BUSY when another process wrote in between, without waiting for the busy
 * timeout. Busy past that wait, it is tried again within a bound, then stops in one line.
 */
function writeTransaction<T>(db: SqliteConnection, label: string, work: () => T): T {
  const deadline = Date.now() + busyBudgetMs;
  for (;;) {
    try {
      return db.immediately(work);
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() > deadline) {
        throw new RegistryError(oneLine(label), `another process held its write lock for ${busyBudgetMs / 1000} s; try again when it is done`, { cause: error });
      }
    }
  }
}

/** The stats both backends give, from the counts of each provider, validity, registration and staleness. */
export function tallyStats(counts: {
  users: number;
  groups: Array<{ provider: string; valid: boolean; unregistered: boolean; stale: boolean; n: number }>;
  invalidByReason: Record<string, number>;
  unregisteredByReason: Record<string, number>;
}): DeviceStats {
  const states = { valid: 0, invalid: 0, unregistered: 0, stale: 0 };
  const stats: DeviceStats = {
    devices: 0,
    ...states,
    users: counts.users,
    byProvider: {},
    invalidByReason: counts.invalidByReason,
    unregisteredByReason: counts.unregisteredByReason,
  };
  for (const group of counts.groups) {
    const state = deviceState(group);
    stats.devices += group.n;
    stats[state] += group.n;
    stats.byProvider[group.provider] ??= { ...states };
    stats.byProvider[group.provider][state] += group.n;
  }
  return stats;
}

function toDevice(row: Row): Device {
  return deviceFromColumns(row, row.channels ? row.channels.split(',') : [], row.valid === 1, JSON.parse(row.attributes) as Record<string, string>);
}

/** A compiled query's values as the named parameters its placeholders (@q1, @q2…) name. */
function namedValues(values: unknown[]): Record<string, unknown> {
  return Object.fromEntries(values.map((value, index) => [`q${index + 1}`, value]));
}
