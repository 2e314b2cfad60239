// Throwaway PostgreSQL clusters for the tests: a real server in a temporary folder, on a free
// loopback port, gone with its folder when the run ends or is killed. No vitest here: vitest's
// main process (postgres-global-setup.ts) and the test files (postgres.ts) both start clusters.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** A PostgreSQL installation: the folder holding `initdb` and `postgres`, and what `postgres --version` says. */
export interface PostgresInstall {
  binDir: string;
  version: string;
}

/** What a test needs to reach a cluster. Plain data: vitest hands it from its main process to the test files. */
export interface PostgresAccess {
  /** The test role's URL, postgres://pushcast:PASSWORD@127.0.0.1:PORT/pushcast: password authentication over TCP. */
  url: string;
  /** The superuser's URL, for what a test does around the product: create databases, end connections. */
  adminUrl: string;
  host: string;
  port: number;
  /** The test role, its password and its database (the ones in `url`). */
  user: string;
  password: string;
  database: string;
}

export interface PostgresCluster extends PostgresAccess {
  /** The temporary folder: the data directory, the Unix socket and the log. */
  folder: string;
  /** Shuts the server down (fast shutdown: clients are disconnected), keeping its data and port for `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port, so the URLs still work. */
  start(): Promise<void>;
  /** Ends the server at once and removes its folder. */
  close(): Promise<void>;
}

const prefix = 'pushcast-pg-';
const testRole = 'pushcast';
/**
 * Local connections (the Unix socket, in a folder only its owner enters) are trusted; TCP ones need
 * the password. 1 MB WAL segments rather than 16: less to copy at each start.
 */
const initdbOptions = ['--username=postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--no-locale', '--no-sync', '--wal-segsize=1'];
/** Nothing the tests keep needs to survive a crash, so no flushing; several processes, each with a pool, connect at once. */
const serverSettings = [
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  'max_connections=200',
  'password_encryption=scram-sha-256',
  // Shared memory segments in the cluster's folder rather than /dev/shm: nothing outlives the folder.
  'dynamic_shared_memory_type=mmap',
];
/** Where templateOf() keeps its data directories. */
const templates = fileURLToPath(new URL('../../node_modules/.cache/pushcast-pg/', import.meta.url));

/** Finds `initdb` and `postgres`: on PATH, else in `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
export function findPostgres(): PostgresInstall | { missing: string } {
  if (process.env.PUSHCAST_TEST_NO_POSTGRES) return { missing: 'PUSHCAST_TEST_NO_POSTGRES is set' };
  const binDir = serverBinDir();
  if (!binDir) {
    return { missing: 'no PostgreSQL server found (initdb and postgres on PATH, in `pg_config --bindir` or /usr/lib/postgresql/*/bin); Debian: apt-get install postgresql' };
  }
  if (isRoot() && !serverUser()) return { missing: 'running as root, and initdb refuses root: there is no postgres or nobody user to run it as' };
  if (isRoot() && !setpriv()) return { missing: 'running as root, and initdb refuses root: setpriv (util-linux) is needed to run it as another user' };
  const version = spawnSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { binDir, version };
}

function serverBinDir(): string | undefined {
  for (const dir of candidateBinDirs()) if (isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'postgres'))) return dir;
  return undefined;
}

const pathDirs = () => (process.env.PATH ?? '').split(delimiter).filter(Boolean);

/** In order of preference; pg_config is asked only when PATH has no server. */
function* candidateBinDirs(): Generator<string> {
  yield* pathDirs();
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0) yield pgConfig.stdout.trim();
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian) ? readdirSync(debian).filter((name) => /^\d+(\.\d+)?$/.test(name)) : [];
  yield* versions.sort((a, b) => Number(b) - Number(a)).map((version) => join(debian, version, 'bin'));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const isRoot = () => process.getuid?.() === 0;

/** initdb and postgres refuse to run as root: as root, they run as this user, owner of the cluster's folder. */
let rootsStandIn: { uid: number; gid: number } | null | undefined;
function serverUser(): { uid: number; gid: number } | null {
  rootsStandIn ??=
    ['postgres', 'nobody']
      .map((name) => /^uid=(\d+)\S* gid=(\d+)/.exec(spawnSync('id', [name], { encoding: 'utf8' }).stdout ?? ''))
      .map((ids) => ids && { uid: Number(ids[1]), gid: Number(ids[2]) })
      .find(Boolean) ?? null;
  return rootsStandIn;
}

let setprivPath: string | null | undefined;
function setpriv(): string | null {
  setprivPath ??= [...pathDirs(), '/usr/bin', '/bin'].map((dir) => join(dir, 'setpriv')).find(isExecutable) ?? null;
  return setprivPath;
}

/**
 * The command line running `program` as the server's user, through setpriv where there is one:
 * its parent-death signal makes a server end (immediate shutdown) when the process that started
 * it dies, even by SIGKILL, when no exit handler runs.
 */
function asServerUser(program: string, args: string[]): [string, string[]] {
  const wrapper = setpriv();
  if (!wrapper) return [program, args];
  const user = isRoot() ? serverUser()! : undefined;
  const switchUser = user ? [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups'] : [];
  return [wrapper, [...switchUser, '--pdeathsig=QUIT', '--', program, ...args]];
}

/** A new folder in the temporary folder, owned by the server's user, marked with this process (see removeAbandonedFolders). */
function newFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(folder, 'owner.pid'), String(process.pid));
  const user = isRoot() ? serverUser() : null;
  if (user) chownSync(folder, user.uid, user.gid);
  return folder;
}

/** Starts a cluster of its own: a copy of the installation's template, with new random passwords. */
export async function startPostgres(install: PostgresInstall): Promise<PostgresCluster> {
  removeAbandonedFolders();
  const cluster: Running = { folder: newFolder(), server: undefined };
  running.add(cluster);
  const { folder } = cluster;
  try {
    const template = await templateOf(install);
    // cp -a keeps the owner (the server's user) and the modes postgres insists on.
    execFileSync('cp', ['-a', template, join(folder, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let port = 0;
    for (let attempt = 1; !cluster.server; attempt++) {
      port = await freePort();
      try {
        cluster.server = await launch(install, folder, port);
      } catch (error) {
        // Another process took the port between our probe and the server's bind: try another.
        if (!(error instanceof AddressInUse) || attempt === 5) throw error;
      }
    }
    const password = randomBytes(16).toString('hex');
    const adminPassword = randomBytes(16).toString('hex');
    // Hex passwords need no quoting; DDL takes no parameters.
    await overSocket(folder, port, [`ALTER ROLE postgres PASSWORD '${adminPassword}'`, `ALTER ROLE ${testRole} PASSWORD '${password}'`]);
    const host = '127.0.0.1';
    return {
      url: `postgres://${testRole}:${password}@${host}:${port}/${testRole}`,
      adminUrl: `postgres://postgres:${adminPassword}@${host}:${port}/postgres`,
      host,
      port,
      user: testRole,
      password,
      database: testRole,
      folder,
      stop: async () => {
        if (cluster.server) await halt(cluster.server, 'SIGINT');
        cluster.server = undefined;
      },
      start: async () => {
        cluster.server ??= await launch(install, folder, port);
      },
      close: async () => {
        if (cluster.server) await halt(cluster.server, 'SIGQUIT');
        removeNow(cluster);
      },
    };
  } catch (error) {
    removeNow(cluster);
    throw error;
  }
}

/** The superuser's statements, over the Unix socket in `folder` (trusted: only the folder's owner reaches it). */
async function overSocket(folder: string, port: number, statements: string[]): Promise<void> {
  const admin = new pg.Client({ host: folder, port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    for (const statement of statements) await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/**
 * A data directory made by initdb, holding the test role and its database, cleanly shut down:
 * made once per installation and server user (initdb and CREATE DATABASE are most of a start's
 * time), then copied by every start.
 */
async function templateOf(install: PostgresInstall): Promise<string> {
  const owner = isRoot() ? serverUser()?.uid : process.getuid?.();
  // By the real program, so /usr/local/bin/postgres -> /usr/lib/postgresql/15/bin/postgres shares a template.
  const key = createHash('sha256')
    .update([realpathSync(join(install.binDir, 'postgres')), install.version, owner, ...initdbOptions].join('\n'))
    .digest('hex')
    .slice(0, 12);
  const template = join(templates, `${/\d+(\.\d+)*/.exec(install.version)?.[0] ?? 'unknown'}-${key}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;

  const scratch: Running = { folder: newFolder(), server: undefined };
  running.add(scratch);
  try {
    const data = join(scratch.folder, 'data');
    const [program, args] = asServerUser(join(install.binDir, 'initdb'), ['-D', data, ...initdbOptions]);
    const initdb = spawnSync(program, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (initdb.status !== 0) throw new Error(`initdb failed (${initdb.error?.message ?? `exit ${initdb.status}`}): ${initdb.stderr.trim()}`);
    scratch.server = await launch(install, scratch.folder, 5432, { tcp: false });
    await overSocket(scratch.folder, 5432, [`CREATE ROLE ${testRole} LOGIN`, `CREATE DATABASE ${testRole} OWNER ${testRole}`]);
    await halt(scratch.server, 'SIGINT');
    // Copied aside, then renamed into place: a start that reads the template never sees half of one.
    mkdirSync(templates, { recursive: true });
    const staging = `${template}.${process.pid}-${randomBytes(4).toString('hex')}`;
    execFileSync('cp', ['-a', data, staging], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      renameSync(staging, template);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another run put its own there first
    }
    return template;
  } finally {
    removeNow(scratch);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

class AddressInUse extends Error {}

/** Starts `postgres` as a child of this process and resolves once it accepts connections (on the socket only, without `tcp`). */
function launch(install: PostgresInstall, folder: string, port: number, { tcp } = { tcp: true }): Promise<ChildProcess> {
  const settings = serverSettings.flatMap((setting) => ['-c', setting]);
  const [program, args] = asServerUser(join(install.binDir, 'postgres'), ['-D', join(folder, 'data'), '-k', folder, '-h', tcp ? '127.0.0.1' : '', '-p', String(port), ...settings]);
  const server = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  // The log is read to the end (a full pipe would stall the server); its last lines explain a failure.
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.kill('SIGKILL');
      reject(new Error(`postgres did not accept connections within 60 s: ${log.join('\n')}`));
    }, 60_000);
    createInterface({ input: server.stderr! }).on('line', (line) => {
      log.push(line);
      if (log.length > 30) log.shift();
      if (line.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve(server);
      }
    });
    server.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    server.once('close', (code, signal) => {
      clearTimeout(timer);
      const text = log.join('\n');
      reject(text.includes('Address already in use') ? new AddressInUse(text) : new Error(`postgres exited (${signal ?? `exit ${code}`}) before accepting connections:\n${text}`));
    });
  });
}

async function halt(server: ChildProcess, signal: 'SIGINT' | 'SIGQUIT'): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill(signal);
  const timer = setTimeout(() => server.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

interface Running {
  folder: string;
  server: ChildProcess | undefined;
}

/** The clusters this process started and has not closed: ended and removed however the process ends. */
const running = new Set<Running>();
process.on('exit', () => running.forEach(removeNow));
// vitest's main process turns SIGINT and SIGTERM into an exit. A test file's process it ends with
// SIGTERM, which runs no exit handler; and a killed vitest leaves it running to the end of its test.
if (process.env.VITEST_POOL_ID !== undefined) {
  process.on('disconnect', () => running.forEach(removeNow));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.forEach(removeNow);
      process.kill(process.pid, signal); // and die of it, as without this handler
    });
  }
}

/** Ends the server and removes the folder, synchronously: this runs in the process's exit handler too. */
function removeNow(cluster: Running): void {
  running.delete(cluster);
  const pid = cluster.server?.pid;
  if (pid !== undefined && cluster.server?.exitCode === null && cluster.server.signalCode === null) {
    cluster.server.kill('SIGQUIT');
    if (!waitForEndSync(pid, 10_000)) {
      cluster.server.kill('SIGKILL');
      waitForEndSync(pid, 5_000);
    }
  }
  rmSync(cluster.folder, { recursive: true, force: true, maxRetries: 5 });
}

/** Whether a process is running: gone or a zombie is not. */
function isRunning(pid: number): boolean {
  try {
    // "PID (name) STATE ...": a zombie has ended but its parent has not collected it yet.
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    if (existsSync('/proc/self/stat')) return false;
  }
  try {
    process.kill(pid, 0); // no /proc: a zombie counts as running
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function waitForEndSync(pid: number, ms: number): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + ms; Date.now() < deadline; Atomics.wait(pause, 0, 0, 10)) if (!isRunning(pid)) return true;
  return false;
}

/**
 * Folders of clusters whose run was killed (by SIGKILL, when no exit handler runs: their server
 * ended with it, by its parent-death signal). A folder is removed when neither the process that
 * made it nor its server is running.
 */
function removeAbandonedFolders(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    const folder = join(tmpdir(), name);
    const owner = pidIn(join(folder, 'owner.pid'));
    const server = pidIn(join(folder, 'data', 'postmaster.pid'));
    if (owner === undefined || isRunning(owner) || (server !== undefined && isRunning(server))) continue;
    try {
      rmSync(folder, { recursive: true, force: true });
    } catch {
      // someone else's, and not ours to remove
    }
  }
}

function pidIn(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
