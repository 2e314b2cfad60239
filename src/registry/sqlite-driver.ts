import { createRequire } from 'node:module';
import type { Database as BetterDatabase } from 'better-sqlite3';
import { ConfigError, nativeModuleFailure } from '../errors.js';

/**
 * The part of an SQLite connection the registry uses, which better-sqlite3 and Node's own
 * node:sqlite (DatabaseSync) both give: statements bound by position or by name (`@name`),
 * rows as plain objects, integers as numbers.
 */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqliteConnection {
  readonly driver: SqliteDriver;
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  /** A PRAGMA's one value (`user_version`), or sets one (`journal_mode = WAL`). */
  pragma(statement: string): unknown;
  /** `work` in one transaction begun IMMEDIATE: the write lock taken first, waiting up to 10 s (busy_timeout) for it. */
  immediately<T>(work: () => T): T;
  close(): void;
}

/**
 * `node:sqlite` is Node's own SQLite, built in from Node 22.13 and quiet from Node 24 (22 prints an
 * ExperimentalWarning on loading it); `better-sqlite3` is the native module, built for one Node.js.
 */
export type SqliteDriver = 'node:sqlite' | 'better-sqlite3';

/** The driver PUSHCAST_SQLITE_DRIVER asks for; undefined: the first that loads (see openSqlite). */
export function chosenSqliteDriver(env: Record<string, string | undefined>): SqliteDriver | undefined {
  const chosen = env.PUSHCAST_SQLITE_DRIVER;
  if (chosen === undefined || chosen === '') return undefined;
  if (chosen === 'node:sqlite' || chosen === 'better-sqlite3') return chosen;
  throw new ConfigError(`PUSHCAST_SQLITE_DRIVER must be node:sqlite or better-sqlite3, not ${JSON.stringify(chosen)}`);
}

/** Whether this runtime's node:sqlite loads without a warning: Node 24 and later. */
export function quietBuiltinSqlite(nodeMajor = Number(process.versions.node.split('.')[0])): boolean {
  return nodeMajor >= 24 && builtinSqlite() !== undefined;
}

/**
 * Opens `path` (created if missing). Without a `driver`: better-sqlite3 when it loads (faster: it
 * imported 1.6 times and resolved users 1.3 times as fast as node:sqlite on Node 26, `npm run
 * bench:sqlite-drivers`), else Node's own where it is quiet (24 and later), so that an install
 * there works with nothing built; else better-sqlite3's failure, in one line with its fix.
 */
export function openSqlite(path: string, driver?: SqliteDriver): SqliteConnection {
  if (driver === 'node:sqlite') return openBuiltin(path);
  if (driver === 'better-sqlite3' || !quietBuiltinSqlite()) return openBetter(path);
  try {
    return openBetter(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return openBuiltin(path);
  }
}

/** How long a statement waits for another process's lock (SQLite's busy_timeout) before it is SQLITE_BUSY. */
const busyTimeoutMs = 10_000;

/** SQLITE_BUSY (another process holds the lock) from either driver: better-sqlite3 names it, node:sqlite numbers it. */
export function isBusy(error: unknown): boolean {
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  return (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) || (typeof errcode === 'number' && (errcode & 0xff) === 5);
}

/** What pushcast uses of node:sqlite (the Node 20 types pushcast builds with do not know the module). */
interface BuiltinSqlite {
  DatabaseSync: new (path: string) => {
    prepare(sql: string): unknown;
    exec(sql: string): void;
    /** Node 22.16 and 24 on; undefined before. */
    readonly isTransaction?: boolean;
    close(): void;
  };
}

function builtinSqlite(): BuiltinSqlite | undefined {
  try {
    return createRequire(import.meta.url)('node:sqlite') as BuiltinSqlite;
  } catch (error) {
    // Node 20 has no such module (nor 22 before 22.13, without --experimental-sqlite).
    if ((error as { code?: string }).code === 'ERR_UNKNOWN_BUILTIN_MODULE') return undefined;
    throw error;
  }
}

function openBuiltin(path: string): SqliteConnection {
  const sqlite = builtinSqlite();
  if (!sqlite) throw new ConfigError(`this Node.js (v${process.versions.node}) has no node:sqlite: unset PUSHCAST_SQLITE_DRIVER to use better-sqlite3`);
  const db = new sqlite.DatabaseSync(path);
  db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`); // as a pragma: early Node 22 releases have no timeout option
  return {
    driver: 'node:sqlite',
    prepare: (sql) => {
      const statement = db.prepare(sql) as SqliteStatement & { setAllowUnknownNamedParameters?(allow: boolean): void };
      // better-sqlite3 binds what a statement names and ignores the rest of the object; so does pushcast's SQL.
      statement.setAllowUnknownNamedParameters?.(true);
      return statement;
    },
    exec: (sql) => db.exec(sql),
    pragma: (statement) => {
      const row = (db.prepare(`PRAGMA ${statement}`) as SqliteStatement).get() as Record<string, unknown> | undefined;
      return row ? Object.values(row)[0] : undefined;
    },
    immediately: (work) => {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = work();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        // SQLite may have rolled back already (a busy or full-disk failure ends the transaction).
        if (db.isTransaction !== false) {
          try {
            db.exec('ROLLBACK');
          } catch {
            // no transaction was open
          }
        }
        throw error;
      }
    },
    close: () => db.close(),
  };
}

function openBetter(path: string): SqliteConnection {
  let db: BetterDatabase;
  try {
    // The native part loads with the first database opened, not with require: both are checked.
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (error) {
    const failure = nativeModuleFailure(error);
    if (failure) throw failure;
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || (error as { code?: string }).code === 'MODULE_NOT_FOUND') {
      const without = quietBuiltinSqlite() ? ' (or unset PUSHCAST_SQLITE_DRIVER: Node 24 and later have their own)' : '';
      throw new ConfigError(`the device registry needs better-sqlite3, which is not installed: run npm install better-sqlite3 where pushcast is installed${without}`);
    }
    throw error;
  }
  return {
    driver: 'better-sqlite3',
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => void db.exec(sql),
    pragma: (statement) => db.pragma(statement, { simple: true }),
    immediately: (work) => db.transaction(work).immediate(),
    close: () => db.close(),
  };
}
