import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';
import { ConfigError, RegistryError, RegistrySchemaError } from '../errors.js';
import {
  checkAttributes,
  checkChannel,
  claimRetentionDays,
  addByUser,
  deviceFromColumns,
  capTargetsOf,
  deviceKey,
  overCap,
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
import { tallyStats } from './sqlite-registry.js';
import type { DeviceQuery } from './device-query.js';
import { querySql } from './query-sql.js';

/** The lock capped claims take turns by, per registry schema ($1), held to the end of the claim's transaction. */
export const capLockSql = "SELECT pg_advisory_xact_lock(hashtextextended('pushcast-cap:' || $1, 0))";

/** The schema's migrations, as shipped in schema/postgres/ (also what the README documents). */
const migrationFiles = ['001-devices.sql', '002-attributes.sql', '003-send-history.sql'];
const schemaFolder = new URL('../../schema/postgres/', import.meta.url);
/** The schema's name in the shipped SQL, replaced by the one the registry URL names. */
const shippedSchema = 'pushcast.';
/** Users per query when a send resolves an audience: one round trip for thousands. */
const usersPerQuery = 5000;
const defaultStatementTimeoutMs = 60_000;

/** What a registry URL says, its password kept apart from anything shown. */
export interface PostgresTarget {
  connectionString: string;
  schema: string;
  /** postgres://user@host:port/db, for messages: never the password. */
  label: string;
}

/** Reads a registry URL (`postgres://…?schema=name`); what it leaves out comes from the usual PG* variables. */
export function postgresTarget(url: string, env: Record<string, string | undefined>): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('the registry URL is not a URL: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]');
  }
  const schema = parsed.searchParams.get('schema') ?? env.PUSHCAST_REGISTRY_SCHEMA ?? 'pushcast';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new ConfigError(`registry schema "${schema.slice(0, 80)}": use lower-case letters, digits and _`);
  parsed.searchParams.delete('schema');
  const user = decodeURIComponent(parsed.username) || env.PGUSER || userInfo().username;
  const host = decodeURIComponent(parsed.hostname) || parsed.searchParams.get('host') || env.PGHOST || 'localhost';
  const port = parsed.port || env.PGPORT || '5432';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || env.PGDATABASE || user;
  return { connectionString: parsed.toString(), schema, label: `postgres://${user}@${host}:${port}/${database}${schema === 'pushcast' ? '' : `?schema=${schema}`}` };
}

type Row = DeviceColumns & { channels: string[]; valid: boolean; attributes: Record<string, string> };

/** A row no newer than what the registry holds leaves the device as it is. */
const ifNewer = (column: string, value: string) => `${column} = CASE WHEN EXCLUDED.last_seen >= d.last_seen THEN ${value} ELSE d.${column} END`;
/** Why prune drops a device, the cut-off for staleness being the statement's parameter `$n`. */
const prunedAs = (n = 1): Record<PruneReason, string> => ({ invalid: 'NOT valid', stale: `valid AND last_seen < $${n}::timestamptz` });

/**
 * The registry in PostgreSQL: what an app's backend writes as tokens arrive (see
 * schema/postgres/register-device.sql), and what every shard of a campaign reads and writes at
 * once. Every write is one statement or one transaction; badges count up in the database
 * (`badge = badge + 1 … RETURNING`), never by reading and writing back.
 */
export class PostgresRegistry implements DeviceRegistry {
  readonly backend = 'postgres';
  readonly label: string;
  private readonly schema: string;
  private readonly registerSql: string;
  private lost: Error | undefined;

  private constructor(
    private readonly pool: Pool,
    target: PostgresTarget,
  ) {
    this.label = target.label;
    this.schema = target.schema;
    this.registerSql = this.shipped('register-device.sql');
    // A connection that dies while idle in the pool must not end the process: the next query says so.
    pool.on('error', (error) => {
      this.lost = error;
    });
  }

  /**
   * Connects and checks the schema. Not yet created: `migrate` creates it (a send or import does
   * on first use, and `notice` says so); written by a newer pushcast: stops.
   */
  static async open(target: PostgresTarget, options: { migrate: boolean; notice?: (text: string) => void }): Promise<PostgresRegistry> {
    let pg: (typeof import('pg'))['default'];
    try {
      pg = (await import('pg')).default;
    } catch (error) {
      throw new ConfigError(`a PostgreSQL registry needs the pg package, which did not load: ${(error as Error).message.split('\n')[0]}`);
    }
    const types = new pg.TypeOverrides();
    types.setTypeParser(pg.types.builtins.INT8, Number); // ids and counts: far below 2^53
    types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, (text) => new Date(text).toISOString());
    const pool = new pg.Pool({
      connectionString: target.connectionString,
      types,
      max: 4,
      application_name: 'pushcast',
      statement_timeout: defaultStatementTimeoutMs,
      connectionTimeoutMillis: 15_000,
    });
    const registry = new PostgresRegistry(pool, target);
    try {
      const version = await registry.schemaVersion();
      if (version > migrationFiles.length) throw new ConfigError(`${target.label} was written by a newer pushcast (schema ${version}); upgrade pushcast`);
      if (version < migrationFiles.length) {
        if (!options.migrate) throw new RegistrySchemaError(target.label, target.schema);
        const applied = await registry.migrate();
        if (applied.length > 0) options.notice?.(`device registry ${target.label}: created the schema "${target.schema}" on first use (${applied.join(', ')})`);
      }
    } catch (error) {
      await pool.end().catch(() => {});
      throw registry.failure(error);
    }
    return registry;
  }

  /** The schema's version: 0 when it does not exist yet. */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [`${this.schema}.schema_version`]);
    if (!rows[0].exists) return 0;
    return (await this.query<{ version: number }>(`SELECT COALESCE(MAX(version), 0)::int AS version FROM ${this.table('schema_version')}`)).rows[0].version;
  }

  /** Applies the migrations not yet applied, under a lock so that pods starting at once apply each once. Returns their files. */
  async migrate(): Promise<string[]> {
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pushcast-migrate:${this.schema}`]);
      // A migration may build an index over a large table: no statement timeout for it.
      await client.query('SET LOCAL statement_timeout = 0');
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.quotedSchema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table('schema_version')} (version integer PRIMARY KEY, file text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT COALESCE(MAX(version), 0)::int AS version FROM ${this.table('schema_version')}`);
      const applied: string[] = [];
      for (let next = rows[0].version; next < migrationFiles.length; next++) {
        await client.query(this.shipped(migrationFiles[next]));
        await client.query(`INSERT INTO ${this.table('schema_version')} (version, file) VALUES ($1, $2)`, [next + 1, migrationFiles[next]]);
        applied.push(migrationFiles[next]);
      }
      return applied;
    });
  }

  async upsert(devices: DeviceInput[], now = new Date().toISOString()): Promise<void> {
    // One statement may not touch a row twice: of a token listed twice, the newer (then the later) goes.
    const newest = new Map<string, DeviceInput>();
    for (const device of devices) {
      const key = deviceKey(device);
      const before = newest.get(key);
      if (!before || (device.lastSeen ?? now) >= (before.lastSeen ?? now)) newest.set(key, device);
    }
    // Channels and badges are set only where given: the rows that give them go in their own statement.
    const groups = new Map<string, DeviceInput[]>();
    for (const device of newest.values()) {
      const given = `${device.channels ? 'channels' : ''},${device.badge != null ? 'badge' : ''}`;
      const group = groups.get(given) ?? [];
      if (group.length === 0) groups.set(given, group);
      group.push(device);
    }
    for (const [given, rows] of groups) await this.upsertRows(rows, now, { channels: given.startsWith('channels'), badge: given.endsWith('badge') });
  }

  private async upsertRows(rows: DeviceInput[], now: string, given: { channels: boolean; badge: boolean }): Promise<void> {
    const column = <T>(pick: (device: DeviceInput) => T) => rows.map(pick);
    await this.query(
      `INSERT INTO ${this.table('devices')} AS d (user_id, provider, token, subscription, app, environment, platform, locale, timezone, channels, attributes, badge, created_at, updated_at, last_seen)
       SELECT u.user_id, u.provider, u.token, u.subscription, u.app, u.environment, u.platform, u.locale, u.timezone,
              COALESCE(string_to_array(u.channels, chr(31)), '{}'), u.attributes::jsonb, COALESCE(u.badge, 0), $13::timestamptz, $13::timestamptz, COALESCE(u.last_seen, $13::timestamptz)
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int[], $12::timestamptz[], $14::text[])
         AS u(user_id, provider, token, subscription, app, environment, platform, locale, timezone, channels, badge, last_seen, attributes)
       ON CONFLICT (provider, token) DO UPDATE SET
         ${ifNewer('user_id', 'COALESCE(EXCLUDED.user_id, d.user_id)')}, ${ifNewer('subscription', 'COALESCE(EXCLUDED.subscription, d.subscription)')},
         ${ifNewer('app', 'COALESCE(EXCLUDED.app, d.app)')}, ${ifNewer('environment', 'COALESCE(EXCLUDED.environment, d.environment)')},
         ${ifNewer('platform', 'COALESCE(EXCLUDED.platform, d.platform)')}, ${ifNewer('locale', 'COALESCE(EXCLUDED.locale, d.locale)')},
         ${ifNewer('timezone', 'COALESCE(EXCLUDED.timezone, d.timezone)')}, ${ifNewer('attributes', 'd.attributes || EXCLUDED.attributes')},
         ${given.channels ? `${ifNewer('channels', 'EXCLUDED.channels')},` : ''}
         ${given.badge ? 'badge = EXCLUDED.badge,' : ''}
         ${ifNewer('updated_at', 'EXCLUDED.updated_at')}, last_seen = GREATEST(d.last_seen, EXCLUDED.last_seen)`,
      [
        column((device) => device.userId ?? null),
        column((device) => device.provider),
        column((device) => device.token),
        column((device) => device.subscription ?? null),
        column((device) => device.app ?? null),
        column((device) => device.environment ?? null),
        column((device) => device.platform ?? null),
        column((device) => device.locale ?? null),
        column((device) => device.timezone ?? null),
        column((device) => (device.channels ? device.channels.map(checkChannel).join('\u001f') : null)),
        column((device) => device.badge ?? null),
        column((device) => device.lastSeen ?? null),
        now,
        column((device) => JSON.stringify(checkAttributes(device.attributes ?? {}))),
      ],
    );
  }

  async register(device: DeviceInput & { userId: string }, options: RegisterOptions = {}): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(this.registerSql, [
        device.userId,
        device.provider,
        device.token,
        options.replaces ?? null,
        device.platform ?? null,
        device.locale ?? null,
        device.timezone ?? null,
        device.channels ? device.channels.map(checkChannel) : null,
        device.app ?? null,
        device.environment ?? null,
        device.subscription ?? null,
      ]);
      if (device.badge !== undefined && device.badge !== null) {
        await client.query(`UPDATE ${this.table('devices')} SET badge = $3 WHERE provider = $1 AND token = $2`, [device.provider, device.token, device.badge]);
      }
      if (options.singleDevice) {
        await client.query(`DELETE FROM ${this.table('devices')} WHERE user_id = $1 AND NOT (provider = $2 AND token = $3)`, [device.userId, device.provider, device.token]);
      }
    });
  }

  async devicesOf(userId: string): Promise<Device[]> {
    return (await this.query<Row>(`SELECT * FROM ${this.table('devices')} WHERE user_id = $1 ORDER BY id`, [userId])).rows.map(toDevice);
  }

  async devicesOfUsers(userIds: readonly string[], where?: DeviceQuery): Promise<Map<string, Device[]>> {
    const byUser = new Map<string, Device[]>();
    // $1 is the users: the query's values follow.
    const query = where && querySql(where, 'postgres', (index) => `$${index + 1}`);
    for (let start = 0; start < userIds.length; start += usersPerQuery) {
      const chunk = userIds.slice(start, start + usersPerQuery);
      const { rows } = await this.query<Row>(
        `SELECT d.*${query ? `, (${query.sql}) AS matches_query` : ''} FROM ${this.table('devices')} d WHERE d.user_id = ANY($1::text[]) ORDER BY d.id`,
        [chunk, ...(query?.values ?? [])],
      );
      addByUser(byUser, rows.map(toDevice));
    }
    return byUser;
  }

  async devicesByToken(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, Device>> {
    const found = new Map<string, Device>();
    if (devices.length === 0) return found;
    const { rows } = await this.query<Row>(
      `SELECT d.* FROM ${this.table('devices')} d JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(provider, token) USING (provider, token)`,
      keyColumns(devices),
    );
    for (const row of rows) found.set(deviceKey(row), toDevice(row));
    return found;
  }

  async environmentsOf(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, ApnsEnvironment | null>> {
    const found = new Map<string, ApnsEnvironment | null>();
    if (devices.length === 0) return found;
    const { rows } = await this.query<{ provider: ProviderName; token: string; environment: ApnsEnvironment | null }>(
      `SELECT d.provider, d.token, d.environment FROM ${this.table('devices')} d JOIN unnest($1::text[], $2::text[]) AS k(provider, token) USING (provider, token)`,
      keyColumns(devices),
    );
    for (const row of rows) found.set(deviceKey(row), row.environment);
    return found;
  }

  async unregister(target: DeviceKey | { userId: string }, now = new Date().toISOString()): Promise<number> {
    const devices = this.table('devices');
    const result =
      'userId' in target
        ? await this.query(`UPDATE ${devices} SET unregistered_at = $2, unregistered_reason = 'account-deleted', updated_at = $2 WHERE user_id = $1 AND unregistered_at IS NULL`, [
            target.userId,
            now,
          ])
        : await this.query(`UPDATE ${devices} SET unregistered_at = $3, unregistered_reason = 'logout', updated_at = $3 WHERE provider = $1 AND token = $2`, [
            target.provider,
            target.token,
            now,
          ]);
    return result.rowCount ?? 0;
  }

  async markInvalid(entries: ReadonlyArray<DeviceKey & { reason: string }>, now = new Date().toISOString()): Promise<number> {
    if (entries.length === 0) return 0;
    const result = await this.query(
      `UPDATE ${this.table('devices')} d SET valid = false, invalid_reason = k.reason, invalid_at = $4, updated_at = $4
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(provider, token, reason)
       WHERE d.provider = k.provider AND d.token = k.token AND d.valid`,
      [...keyColumns(entries), entries.map((entry) => entry.reason), now],
    );
    return result.rowCount ?? 0;
  }

  async claim(
    campaign: string,
    shard: string,
    allDevices: ReadonlyArray<DeviceKey & { userId: string | null; uncapped?: boolean }>,
    incrementBadge: boolean,
    cap?: ClaimCap,
  ): Promise<Map<string, Claim>> {
    const claims = new Map<string, Claim>();
    if (allDevices.length === 0) return claims;
    await this.transaction(async (client) => {
      let devices = allDevices;
      if (cap) {
        // Capped claims take turns, registry-wide, until this transaction ends (as SQLite's write lock
        // makes them): a campaign claiming at once waits, then counts this one's claims. One lock, not
        // one a user: a user-capped and a device-capped campaign count the same phone, and thousands
        // of locks a batch would fill PostgreSQL's lock table.
        await client.query(capLockSql, [this.schema]);
        const targets = capTargetsOf(devices, cap);
        const [byUser, byDevice] = [
          await this.reaching((sql, values) => client.query(sql, values), { userIds: targets.userIds }, cap.since, campaign),
          await this.reaching((sql, values) => client.query(sql, values), { devices: targets.devices }, cap.since, campaign),
        ];
        for (const [key, count] of overCap(devices, cap, byUser, byDevice)) claims.set(key, { granted: false, capped: count });
        devices = devices.filter((device) => !claims.has(deviceKey(device)));
        if (devices.length === 0) return;
      }
      const [providers, tokens] = keyColumns(devices);
      // New claims count their badge up in the same statement; READ COMMITTED: the next
      // statement sees claims another shard committed while this one waited on them.
      const taken = await client.query<{ provider: ProviderName; token: string; badge: number | null }>(
        `WITH taken AS (
           INSERT INTO ${this.table('campaign_claims')} (campaign, provider, token, shard, user_id, badge_counted)
           SELECT $1, k.provider, k.token, $2, k.user_id, $6::boolean FROM unnest($3::text[], $4::text[], $5::text[]) AS k(provider, token, user_id)
           ON CONFLICT DO NOTHING RETURNING provider, token),
         counted AS (
           UPDATE ${this.table('devices')} d SET badge = d.badge + 1 FROM taken t
           WHERE $6::boolean AND d.provider = t.provider AND d.token = t.token RETURNING d.provider, d.token, d.badge)
         SELECT t.provider, t.token, c.badge FROM taken t LEFT JOIN counted c USING (provider, token)`,
        [campaign, shard, providers, tokens, devices.map((device) => device.userId), incrementBadge],
      );
      for (const row of taken.rows) claims.set(deviceKey(row), { granted: true, ...(row.badge !== null ? { badge: row.badge } : {}) });
      const others = devices.filter((device) => !claims.has(deviceKey(device)));
      if (others.length === 0) return;
      const held = await client.query<{ provider: ProviderName; token: string; shard: string; user_id: string | null; badge: number | null }>(
        `SELECT c.provider, c.token, c.shard, c.user_id, d.badge FROM ${this.table('campaign_claims')} c
         JOIN unnest($2::text[], $3::text[]) AS k(provider, token) USING (provider, token)
         LEFT JOIN ${this.table('devices')} d USING (provider, token) WHERE c.campaign = $1`,
        [campaign, ...keyColumns(others)],
      );
      for (const row of held.rows) {
        claims.set(
          deviceKey(row),
          row.shard === shard
            ? { granted: true, ...(incrementBadge && row.badge !== null ? { badge: row.badge } : {}) }
            : { granted: false, shard: row.shard, userId: row.user_id },
        );
      }
    });
    return claims;
  }

  async firstClaimOf(campaign: string): Promise<string | undefined> {
    const { rows } = await this.query<{ first: string | null }>(`SELECT MIN(claimed_at) AS first FROM ${this.table('campaign_claims')} WHERE campaign = $1`, [campaign]);
    return rows[0].first ?? undefined;
  }

  async campaignsReaching(targets: CapTargets, since: string, campaign: string): Promise<Map<string, CampaignsReaching>> {
    return this.reaching((sql, values) => this.query(sql, values), targets, since, campaign);
  }

  /** campaignsReaching through `query`: the pool's, or a transaction's client. */
  private async reaching(
    query: <T extends QueryResultRow>(sql: string, values: unknown[]) => Promise<{ rows: T[] }>,
    targets: CapTargets,
    since: string,
    campaign: string,
  ): Promise<Map<string, CampaignsReaching>> {
    const found = new Map<string, CampaignsReaching>();
    const claims = this.table('campaign_claims');
    // $3 is the campaign asking, in both statements.
    const counted = `COUNT(DISTINCT c.campaign) FILTER (WHERE c.campaign <> $3)::int AS campaigns, MAX(c.claimed_at) FILTER (WHERE c.campaign <> $3) AS last_at,
       bool_or(c.campaign = $3) AS mine`;
    type Counted = { campaigns: number; last_at: string | null; mine: boolean };
    const reaching = (row: Counted): CampaignsReaching => ({ campaigns: row.campaigns, lastAt: row.last_at, mine: row.mine });
    if ('userIds' in targets) {
      if (targets.userIds.length === 0) return found;
      const { rows } = await query<Counted & { user_id: string }>(
        `SELECT c.user_id, ${counted} FROM ${claims} c WHERE c.user_id = ANY($1::text[]) AND c.claimed_at >= $2::timestamptz GROUP BY c.user_id`,
        [targets.userIds, since, campaign],
      );
      for (const row of rows) found.set(row.user_id, reaching(row));
      return found;
    }
    if (targets.devices.length === 0) return found;
    // Here $1 and $2 are the devices, $3 the campaign, $4 the moment.
    const { rows } = await query<Counted & { provider: ProviderName; token: string }>(
      `SELECT c.provider, c.token, ${counted} FROM ${claims} c JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(provider, token) USING (provider, token)
       WHERE c.claimed_at >= $4::timestamptz GROUP BY c.provider, c.token`,
      [...keyColumns(targets.devices), campaign, since],
    );
    for (const row of rows) found.set(deviceKey(row), reaching(row));
    return found;
  }

  async release(campaign: string, shard: string, devices: ReadonlyArray<DeviceKey>, decrementBadge: boolean): Promise<void> {
    if (devices.length === 0) return;
    await this.query(
      `WITH dropped AS (
         DELETE FROM ${this.table('campaign_claims')} c USING unnest($3::text[], $4::text[]) AS k(provider, token)
         WHERE c.campaign = $1 AND c.shard = $2 AND c.provider = k.provider AND c.token = k.token RETURNING c.provider, c.token, c.badge_counted)
       UPDATE ${this.table('devices')} d SET badge = GREATEST(d.badge - 1, 0) FROM dropped
       WHERE $5::boolean AND dropped.badge_counted AND d.provider = dropped.provider AND d.token = dropped.token`,
      [campaign, shard, ...keyColumns(devices), decrementBadge],
    );
  }

  async incrementBadges(devices: ReadonlyArray<DeviceKey>): Promise<Map<string, number>> {
    const badges = new Map<string, number>();
    if (devices.length === 0) return badges;
    const { rows } = await this.query<{ provider: ProviderName; token: string; badge: number }>(
      `UPDATE ${this.table('devices')} d SET badge = d.badge + 1 FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(provider, token)
       WHERE d.provider = k.provider AND d.token = k.token RETURNING d.provider, d.token, d.badge`,
      keyColumns(devices),
    );
    for (const row of rows) badges.set(deviceKey(row), row.badge);
    return badges;
  }

  async copyIn(devices: Device[]): Promise<void> {
    if (devices.length === 0) return;
    const column = <T>(pick: (device: Device) => T) => devices.map(pick);
    await this.query(
      `INSERT INTO ${this.table('devices')} AS d (user_id, provider, token, subscription, app, environment, platform, locale, timezone, channels, valid, invalid_reason,
                                                invalid_at, unregistered_at, unregistered_reason, badge, created_at, updated_at, last_seen, attributes)
       SELECT u.user_id, u.provider, u.token, u.subscription, u.app, u.environment, u.platform, u.locale, u.timezone, COALESCE(string_to_array(u.channels, chr(31)), '{}'),
              u.valid, u.invalid_reason, u.invalid_at, u.unregistered_at, u.unregistered_reason, u.badge, u.created_at, u.updated_at, u.last_seen, u.attributes::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::boolean[], $12::text[],
                   $13::timestamptz[], $14::timestamptz[], $15::text[], $16::int[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::text[])
         AS u(user_id, provider, token, subscription, app, environment, platform, locale, timezone, channels, valid, invalid_reason,
              invalid_at, unregistered_at, unregistered_reason, badge, created_at, updated_at, last_seen, attributes)
       ON CONFLICT (provider, token) DO UPDATE SET
         user_id = EXCLUDED.user_id, subscription = EXCLUDED.subscription, app = EXCLUDED.app, environment = EXCLUDED.environment,
         platform = EXCLUDED.platform, locale = EXCLUDED.locale, timezone = EXCLUDED.timezone, channels = EXCLUDED.channels, valid = EXCLUDED.valid,
         invalid_reason = EXCLUDED.invalid_reason, invalid_at = EXCLUDED.invalid_at, unregistered_at = EXCLUDED.unregistered_at,
         unregistered_reason = EXCLUDED.unregistered_reason, badge = EXCLUDED.badge, created_at = EXCLUDED.created_at,
         updated_at = EXCLUDED.updated_at, last_seen = EXCLUDED.last_seen, attributes = EXCLUDED.attributes`,
      [
        column((device) => device.userId),
        column((device) => device.provider),
        column((device) => device.token),
        column((device) => device.subscription),
        column((device) => device.app),
        column((device) => device.environment),
        column((device) => device.platform),
        column((device) => device.locale),
        column((device) => device.timezone),
        column((device) => (device.channels.length > 0 ? device.channels.join('\u001f') : null)),
        column((device) => device.valid),
        column((device) => device.invalidReason),
        column((device) => device.invalidAt),
        column((device) => device.unregisteredAt),
        column((device) => device.unregisteredReason),
        column((device) => device.badge),
        column((device) => device.createdAt),
        column((device) => device.updatedAt),
        column((device) => device.lastSeen),
        column((device) => JSON.stringify(device.attributes ?? {})),
      ],
    );
  }

  async *selectDevices(selection: DeviceSelection): AsyncGenerator<Device> {
    const channel = selection.channel === undefined || selection.channel === '*' ? undefined : checkChannel(selection.channel);
    // In pages(), $1 is the page's start; the channel, if any, is $2; the query's values follow.
    const first = channel ? 2 : 1;
    const query = selection.where && querySql(selection.where, 'postgres', (index) => `$${first + index}`);
    const filter = [selection.includeInvalid ? 'true' : 'd.valid', ...(channel ? ['d.channels @> ARRAY[$2::text]'] : []), ...(query ? [query.sql] : [])].join(' AND ');
    for await (const row of this.pages(filter, [...(channel ? [channel] : []), ...(query?.values ?? [])])) yield toDevice(row);
  }

  async attributeNames(): Promise<string[]> {
    const { rows } = await this.query<{ name: string }>(`SELECT DISTINCT jsonb_object_keys(attributes) AS name FROM ${this.table('devices')} ORDER BY 1`);
    return rows.map((row) => row.name);
  }

  async setAttributes(target: DeviceKey | { userId: string }, changes: Record<string, string | null>, now = new Date().toISOString()): Promise<number> {
    const patch = JSON.stringify(checkAttributes(changes));
    // A null removes the attribute: no attribute is ever stored as null.
    const set = `UPDATE ${this.table('devices')} SET attributes = jsonb_strip_nulls(attributes || $1::jsonb), updated_at = $2`;
    const result =
      'userId' in target
        ? await this.query(`${set} WHERE user_id = $3`, [patch, now, target.userId])
        : await this.query(`${set} WHERE provider = $3 AND token = $4`, [patch, now, target.provider, target.token]);
    return result.rowCount ?? 0;
  }

  /** The devices (aliased d) matching a WHERE clause ($1 is the page's start), 1,000 at a time in id order. */
  private async *pages(filter: string, parameters: unknown[], columns = ''): AsyncGenerator<Row & Record<string, unknown>> {
    let after = 0;
    for (;;) {
      const { rows } = await this.query<Row & Record<string, unknown>>(
        `SELECT d.* ${columns} FROM ${this.table('devices')} d WHERE d.id > $1 AND (${filter}) ORDER BY d.id LIMIT 1000`,
        [after, ...parameters],
      );
      if (rows.length === 0) return;
      yield* rows;
      after = rows[rows.length - 1].id;
    }
  }

  async prune(options: PruneOptions): Promise<Record<PruneReason, number>> {
    return this.transaction(async (client) => {
      const invalid = (await client.query(`DELETE FROM ${this.table('devices')} WHERE ${prunedAs().invalid}`)).rowCount ?? 0;
      const stale = options.staleBefore ? ((await client.query(`DELETE FROM ${this.table('devices')} WHERE ${prunedAs().stale}`, [options.staleBefore])).rowCount ?? 0) : 0;
      await client.query(`DELETE FROM ${this.table('campaign_claims')} WHERE claimed_at < now() - make_interval(days => $1)`, [claimRetentionDays]);
      return { invalid, stale };
    });
  }

  async pruneCounts(options: PruneOptions): Promise<Record<PruneReason, number> & { devices: number }> {
    const { rows } = await this.query<Record<PruneReason, number> & { devices: number }>(
      `SELECT COUNT(*) AS devices, COUNT(*) FILTER (WHERE ${prunedAs().invalid}) AS invalid, COUNT(*) FILTER (WHERE ${prunedAs().stale}) AS stale FROM ${this.table('devices')}`,
      [options.staleBefore ?? null],
    );
    return rows[0];
  }

  async *pruneCandidates(options: PruneOptions): AsyncGenerator<Device & { reason: PruneReason }> {
    // In pages(), $1 is the page's start: the cut-off is $2 here.
    const { invalid, stale } = prunedAs(2);
    for await (const row of this.pages(`(${invalid}) OR (${stale})`, [options.staleBefore ?? null], `, CASE WHEN ${invalid} THEN 'invalid' ELSE 'stale' END AS reason`)) {
      yield { ...toDevice(row), reason: row.reason as PruneReason };
    }
  }

  async stats(options: { staleBefore?: string } = {}): Promise<DeviceStats> {
    const devices = this.table('devices');
    const groups = await this.query<{ provider: string; valid: boolean; unregistered: boolean; stale: boolean; n: number }>(
      `SELECT provider, valid, unregistered_at IS NOT NULL AS unregistered, COALESCE(last_seen < $1::timestamptz, false) AS stale, COUNT(*) AS n
       FROM ${devices} GROUP BY 1, 2, 3, 4`,
      [options.staleBefore ?? null],
    );
    const reasons = async (sql: string) => Object.fromEntries((await this.query<{ reason: string; n: number }>(sql)).rows.map((row) => [row.reason, row.n]));
    return tallyStats({
      users: (await this.query<{ n: number }>(`SELECT COUNT(DISTINCT user_id) AS n FROM ${devices}`)).rows[0].n,
      groups: groups.rows,
      invalidByReason: await reasons(`SELECT invalid_reason AS reason, COUNT(*) AS n FROM ${devices} WHERE NOT valid GROUP BY 1 ORDER BY 1`),
      unregisteredByReason: await reasons(`SELECT unregistered_reason AS reason, COUNT(*) AS n FROM ${devices} WHERE valid AND unregistered_at IS NOT NULL GROUP BY 1 ORDER BY 1`),
    });
  }

  async health(): Promise<RegistryFinding[]> {
    const { rows } = await this.query<{ server: string; role: string }>("SELECT split_part(current_setting('server_version'), ' ', 1) AS server, current_user AS role");
    const findings: RegistryFinding[] = [{ ok: true, text: `PostgreSQL ${rows[0].server} at ${this.label}, as role ${rows[0].role}` }];
    const version = await this.schemaVersion();
    findings.push({ ok: true, text: `schema "${this.schema}" at version ${version} of ${migrationFiles.length}` });
    // What a send does: reads devices, marks them, claims them; register and prune delete.
    const { rows: grants } = await this.query<{ table_name: string; missing: string[] }>(
      `SELECT t AS table_name, ARRAY(SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p WHERE NOT has_table_privilege($1 || '.' || t, p)) AS missing
       FROM unnest(ARRAY['devices', 'campaign_claims']) AS t`,
      [this.quotedSchema],
    );
    for (const grant of grants) {
      findings.push(
        grant.missing.length === 0
          ? { ok: true, text: `may read and write ${this.schema}.${grant.table_name}` }
          : {
              ok: false,
              text: `role ${rows[0].role} lacks ${grant.missing.join(', ')} on ${this.schema}.${grant.table_name}, which a send needs`,
              next: `GRANT SELECT, INSERT, UPDATE, DELETE ON ${this.schema}.${grant.table_name} TO ${rows[0].role}`,
            },
      );
    }
    return findings;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private get quotedSchema(): string {
    return `"${this.schema}"`;
  }

  private table(name: string): string {
    return `${this.quotedSchema}.${name}`;
  }

  /** A shipped SQL file, in this registry's schema. */
  private shipped(file: string): string {
    return readFileSync(new URL(file, schemaFolder), 'utf8').replaceAll(shippedSchema, `${this.quotedSchema}.`);
  }

  private async query<T extends QueryResultRow>(sql: string, parameters?: unknown[]) {
    if (this.lost) throw this.failure(this.lost);
    try {
      return await this.pool.query<T>(sql, parameters);
    } catch (error) {
      throw this.failure(error);
    }
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.failure(error);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw this.failure(error);
    } finally {
      client.release();
    }
  }

  /** A driver's error as one line naming the server (never its password); ours pass as they are. */
  private failure(error: unknown): Error {
    if (error instanceof RegistryError || error instanceof ConfigError) return error;
    const { code, message } = error as { code?: string; message?: string };
    const first = (message ?? String(error)).split('\n')[0];
    const reason =
      code === 'ECONNREFUSED'
        ? 'connection refused: is the server running, and on that host and port?'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'the host does not resolve'
          : code === '57014'
            ? `a statement took longer than the statement timeout (${first})`
            : code === '57P01' || code === '57P02' || code === '57P03' || /Connection terminated|ECONNRESET/.test(first)
              ? `the connection was lost (${first})`
              : code === '42501'
                ? `permission denied (${first}): the role needs to read and write the schema's tables`
                : first;
    return new RegistryError(this.label, reason, { cause: error });
  }
}

function keyColumns(devices: ReadonlyArray<DeviceKey>): [string[], string[]] {
  return [devices.map((device) => device.provider), devices.map((device) => device.token)];
}

function toDevice(row: Row): Device {
  return deviceFromColumns(row, row.channels, row.valid, row.attributes ?? {});
}
