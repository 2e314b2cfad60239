// npm run bench:registry-backends [-- --sizes 100000,1000000] [-- --backends sqlite,postgres]
// The two registry backends in one run, through the built CLI as a user runs it, each command in a
// fresh process. For N users with two devices each (a phone and a tablet):
// - import: `devices import` of N devices (the phones) into an empty registry;
// - import more: the N tablets, into the registry of N;
// - dry run: `send --dry-run` of a user-ID audience of the N users, which resolves each user
//   through the registry to its 2 devices, then renders and builds a payload for each of the 2N
//   (about half its CPU, the same on both backends);
// - resolve: the same dry run with --channel naming a channel no device is in: every user is
//   still fetched with all its devices (the channel is filtered after) and nothing is rendered,
//   so the registry is most of what it costs.
// Prints seconds and peak RSS of each (the CLI's --json `resources`), and PostgreSQL's over SQLite's.
//
// PostgreSQL: PUSHCAST_BENCH_POSTGRES_URL (a schema bench_N is created in it, and dropped), else a
// throwaway cluster started here on a loopback port with fsync=off (nothing in it needs to survive
// a crash), and stopped at the end. The server's memory is not in the peak RSS, the CLI's is.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmulatorProcess } from './lib/emulator-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'pushcast.js');
const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const sizes = option('sizes', '100000,1000000').split(',').map(Number);
const backends = option('backends', 'sqlite,postgres').split(',');
/** What each backend is measured on, in order. */
const stages = ['import', 'importMore', 'dryRun', 'resolve'];
const dir = mkdtempSync(join(tmpdir(), 'pushcast-bench-registries-'));

/** User u<i>'s phone is FCM and its tablet APNs for even i, the other way round for odd i. */
function device(user, tablet) {
  const hash = createHash('sha256')
    .update(`${tablet ? 'tablet' : 'phone'}${user}`)
    .digest();
  return (user % 2 === 0) === !tablet
    ? `fcm,${hash.toString('base64url').slice(0, 22)}:APA91b${hash.toString('base64url').repeat(4).slice(0, 134)},u${user},en,news\n`
    : `apns,${hash.toString('hex')},u${user},fa,news;sales\n`;
}

async function writeLines(file, header, count, line) {
  const out = createWriteStream(file);
  out.write(header);
  for (let i = 0; i < count; i++) if (!out.write(line(i))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  return file;
}

async function writeInputs(users) {
  const header = 'provider,token,user_id,locale,channels\n';
  return {
    phones: await writeLines(join(dir, `phones-${users}.csv`), header, users, (i) => device(i, false)),
    tablets: await writeLines(join(dir, `tablets-${users}.csv`), header, users, (i) => device(i, true)),
    audience: await writeLines(join(dir, `users-${users}.csv`), 'user_id\n', users, (i) => `u${i}\n`),
  };
}

/** Runs the CLI and returns its --json answer. */
function pushcast(args) {
  const run = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 });
  // A registry URL's password stays out of what is shown.
  const shown = args.slice(0, 4).map((arg) => arg.replace(/\/\/([^:/@]+):[^@]*@/, '//$1@'));
  if (run.status !== 0) throw new Error(`pushcast ${shown.join(' ')} exited ${run.status}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(run.stdout);
}

// ---- PostgreSQL: the given server, or a throwaway cluster of our own ----

function postgresBinDir() {
  const onPath = (process.env.PATH ?? '').split(delimiter).find((folder) => existsSync(join(folder, 'pg_ctl')) && existsSync(join(folder, 'initdb')));
  if (onPath) return onPath;
  const debian = '/usr/lib/postgresql';
  const newest = existsSync(debian) ? readdirSync(debian).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!newest) throw new Error('no PostgreSQL found (pg_ctl and initdb on PATH or in /usr/lib/postgresql/N/bin): set PUSHCAST_BENCH_POSTGRES_URL');
  return join(debian, newest, 'bin');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** initdb and pg_ctl refuse root: as root they run as the postgres user, owner of the cluster's folder. */
async function startCluster() {
  const binDir = postgresBinDir();
  const folder = mkdtempSync(join(tmpdir(), 'pushcast-bench-pg-'));
  const password = randomBytes(16).toString('hex');
  const passwordFile = join(folder, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' })));
    chownSync(folder, uid, gid);
    chownSync(passwordFile, uid, gid);
  }
  const run = (program, args) => {
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, program), ...args]] : [join(binDir, program), args];
    const result = spawnSync(command, argv, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (result.status !== 0) throw new Error(`${program} failed: ${(result.stderr || result.stdout).trim()}`);
  };
  const data = join(folder, 'data');
  const port = await freePort();
  try {
    const auth = ['--username=postgres', `--pwfile=${passwordFile}`, '--auth-local=trust', '--auth-host=scram-sha-256'];
    run('initdb', ['-D', data, ...auth, '--encoding=UTF8', '--no-locale', '--no-sync']);
    run('pg_ctl', ['-D', data, '-l', join(folder, 'server.log'), '-o', `-p ${port} -h 127.0.0.1 -k ${folder} -c fsync=off`, '-w', 'start']);
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    note: `throwaway cluster (${spawnSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim()}, 127.0.0.1:${port}, fsync=off, other settings default)`,
    stop: () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}

async function onServer(url, sql) {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// ---- the run ----

const emulator = await startEmulatorProcess(dir, []); // only for its configuration: a dry run contacts no provider
const message = join(dir, 'message.json');
writeFileSync(message, JSON.stringify({ kind: 'notification', title: 'Hello', body: 'A note for {{user_id}}' }));
let cluster;
let postgresNote;
const cleanUp = () => {
  emulator.stop();
  try {
    cluster?.stop();
  } finally {
    cluster = undefined;
    rmSync(dir, { recursive: true, force: true });
  }
};
// Interrupted: what this run started goes too (the signal ends the command running now first).
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
const results = [];
const loadAtStart = loadavg();
try {
  const givenUrl = process.env.PUSHCAST_BENCH_POSTGRES_URL;
  if (backends.includes('postgres') && !givenUrl) cluster = await startCluster();
  const serverUrl = givenUrl ?? cluster?.url;
  if (serverUrl) postgresNote = cluster ? cluster.note : 'the server of PUSHCAST_BENCH_POSTGRES_URL';
  if (postgresNote) console.log(`PostgreSQL: ${postgresNote}`);
  for (const users of sizes) {
    const inputs = await writeInputs(users);
    for (const backend of backends) {
      const schema = `bench_${users}`;
      let registry = join(dir, `registry-${users}.db`);
      if (backend === 'postgres') {
        const url = new URL(serverUrl);
        url.searchParams.set('schema', schema);
        registry = url.href;
        await onServer(serverUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
      const imports = [inputs.phones, inputs.tablets].map((file) => {
        const imported = pushcast(['devices', '--registry', registry, 'import', file, '--json']);
        if (imported.imported !== users) throw new Error(`${backend}: imported ${imported.imported} of ${users} devices`);
        return imported;
      });
      const send = ['send', '--dry-run', '--json', '--audience', inputs.audience, '--message', message, '--config', emulator.configPath, '--registry', registry];
      const plan = pushcast(send);
      const planned = plan.recipients.fcm + plan.recipients.apns;
      if (plan.users !== users || plan.usersReached !== users || planned !== 2 * users) {
        throw new Error(`${backend}: the dry run resolved ${plan.usersReached} of ${users} users to ${planned} of ${2 * users} devices`);
      }
      const resolved = pushcast([...send, '--channel', 'bench-no-device-is-in']);
      if (resolved.users !== users || resolved.skipped['no-device'] !== users) {
        throw new Error(`${backend}: the resolve-only dry run found ${resolved.skipped['no-device']} of ${users} users with devices`);
      }
      if (backend === 'postgres') await onServer(serverUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      else rmSync(registry, { force: true });
      const result = { backend, users, import: imports[0].resources, importMore: imports[1].resources, dryRun: plan.resources, resolve: resolved.resources };
      results.push(result);
      const figures = (stage) => `${stage} ${result[stage].seconds.toFixed(1)} s, ${result[stage].peakRssMB} MB`;
      console.log(`${backend.padEnd(8)} ${String(users).padStart(9)} users: ${stages.map(figures).join('; ')}`);
    }
    for (const file of Object.values(inputs)) rmSync(file, { force: true });
  }
} finally {
  cleanUp();
}

const row = (cells) => `| ${cells.join(' | ')} |`;
console.log();
console.log(row(['backend', 'users', ...stages.flatMap((stage) => [`${stage} s`, `${stage} peak RSS MB`])]));
console.log(row(Array(2 + 2 * stages.length).fill('---')));
for (const result of results) {
  console.log(row([result.backend, result.users.toLocaleString('en'), ...stages.flatMap((stage) => [result[stage].seconds.toFixed(1), result[stage].peakRssMB])]));
}
console.log();
for (const users of sizes) {
  const [sqlite, postgres] = ['sqlite', 'postgres'].map((backend) => results.find((result) => result.backend === backend && result.users === users));
  if (!sqlite || !postgres) continue;
  const ratios = stages.map((stage) => `${stage} ${(postgres[stage].seconds / sqlite[stage].seconds).toFixed(2)}x`);
  console.log(`PostgreSQL / SQLite time at ${users} users: ${ratios.join(', ')}`);
}
for (const backend of backends) {
  const [small, large] = [sizes[0], sizes[sizes.length - 1]].map((users) => results.find((result) => result.backend === backend && result.users === users));
  if (!small || !large || small === large) continue;
  const growth = stages.map((stage) => `${stage} ${(large[stage].peakRssMB / small[stage].peakRssMB).toFixed(2)}`);
  console.log(`${backend}: peak RSS at ${large.users} / at ${small.users} users: ${growth.join(', ')}`);
}
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
// A shared machine: how busy it was says how far to trust the times.
const load = `load average ${loadAtStart.map((value) => value.toFixed(1)).join(' ')} at the start, ${loadavg()
  .map((value) => value.toFixed(1))
  .join(' ')} at the end`;
console.log(`machine: ${machine}; ${load}`);
if (postgresNote) console.log(`PostgreSQL: ${postgresNote}`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(root, 'bench', 'results', 'registry-backends.json'),
  `${JSON.stringify({ machine, load, postgres: postgresNote, date: new Date().toISOString(), results }, null, 2)}\n`,
);
