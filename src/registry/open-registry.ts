import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultRegistryFile } from '../config/defaults.js';
import { isDatabaseUrl } from '../config/load-config.js';
import { PostgresRegistry, postgresTarget, type PostgresTarget } from './postgres-registry.js';
import type { DeviceRegistry } from './registry.js';
import { chosenSqliteDriver, type SqliteDriver } from './sqlite-driver.js';
import { SqliteRegistry } from './sqlite-registry.js';

/** Where the registry is: an SQLite file (the embedded default) or a PostgreSQL server. */
export type RegistryTarget = { backend: 'sqlite'; file: string; label: string; driver?: SqliteDriver } | ({ backend: 'postgres' } & PostgresTarget);

/**
 * `--registry`, `registry` in the config or PUSHCAST_REGISTRY: a `postgres://` URL, else a file
 * (relative to `cwd`; none: ./pushcast.db), opened with the driver PUSHCAST_SQLITE_DRIVER names.
 */
export function registryTarget(spec: string | undefined, cwd: string, env: Record<string, string | undefined>): RegistryTarget {
  if (spec !== undefined && isDatabaseUrl(spec)) return { backend: 'postgres', ...postgresTarget(spec.trim(), env) };
  const file = resolve(cwd, spec ?? defaultRegistryFile);
  return { backend: 'sqlite', file, label: file, driver: chosenSqliteDriver(env) };
}

/** Whether there is a registry to read: a file that exists; a server always answers for itself. */
export function registryExists(target: RegistryTarget): boolean {
  return target.backend === 'postgres' || existsSync(target.file);
}

/**
 * Opens a registry. An SQLite file is created and migrated on first use; a PostgreSQL schema is
 * created on first use when `migrate` (a write: import, register, a send), with `notice` told.
 */
export async function openRegistry(target: RegistryTarget, options: { migrate: boolean; notice?: (text: string) => void }): Promise<DeviceRegistry> {
  if (target.backend === 'sqlite') return SqliteRegistry.open(target.file, target.driver);
  return PostgresRegistry.open(target, options);
}
