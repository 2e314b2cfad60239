// npm run bench:import-installations [-- --installations 1000000 --pretty --before OTHER/bin/pushcast.js]
// Writes a Parse Server _Installation export ({"results": […]}, one installation a line; --pretty:
// indented, as JSON.stringify(…, null, 2) writes it) and a LeanCloud one (JSON lines), then imports
// each with `pushcast devices import --from … --json` in a fresh process, as a user runs it: prints the
// wall time, the import's own time and CPU (as --json reports them: from when the export is open,
// and a JSON array checked) and the peak RSS. --before runs another build first (such as main's), on the same files.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const option = (name) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const count = Number(option('installations') ?? 1_000_000);
const pretty = process.argv.includes('--pretty');
const before = option('before');
const dir = mkdtempSync(join(tmpdir(), 'pushcast-installations-'));

/** The i-th installation: iOS for three in five, Android (FCM) for the rest, with what Parse and LeanCloud keep. */
function installation(i, source) {
  const hash = createHash('sha256').update(`installation${i}`).digest();
  const ios = i % 5 < 3;
  const updatedAt = new Date(Date.UTC(2026, 0, 1) + (i % 300) * 86_400_000).toISOString();
  const common = {
    objectId: hash.toString('base64url').slice(0, 10),
    deviceType: ios ? 'ios' : 'android',
    ...(ios
      ? { deviceToken: hash.toString('hex') }
      : source === 'parse'
        ? { deviceToken: `${hash.toString('base64url').slice(0, 22)}:APA91b${hash.toString('base64url').repeat(4).slice(0, 134)}`, pushType: 'gcm', GCMSenderId: '1076345567071' }
        : { vendor: 'fcm', registrationId: `${hash.toString('base64url').slice(0, 22)}:APA91b${hash.toString('base64url').repeat(4).slice(0, 134)}` }),
    ...(source === 'parse' ? { appIdentifier: 'com.example.shop' } : { apnsTopic: 'com.example.shop', prod: 'prod' }),
    localeIdentifier: i % 2 ? 'en-US' : 'fa-IR',
    timeZone: i % 2 ? 'America/New_York' : 'Asia/Tehran',
    badge: i % 4,
    channels: ['', 'news'],
    [source === 'parse' ? 'user' : 'owner']: { __type: 'Pointer', className: '_User', objectId: `u${i % Math.ceil(count / 2)}` },
    createdAt: '2025-01-10T08:00:00.000Z',
    updatedAt,
  };
  return common;
}

async function write(file, source) {
  const out = createWriteStream(file);
  const put = async (text) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  if (source === 'parse') await put('{\n  "results": [\n');
  for (let i = 0; i < count; i++) {
    const value = installation(i, source);
    if (source === 'leancloud') await put(`${JSON.stringify(value)}\n`);
    else await put(`${pretty ? JSON.stringify(value, null, 2).replace(/^/gm, '    ') : `    ${JSON.stringify(value)}`}${i < count - 1 ? ',' : ''}\n`);
  }
  if (source === 'parse') await put('  ]\n}\n');
  out.end();
  await once(out, 'finish');
}

function importWith(bin, source, file) {
  const db = join(dir, `${source}-${Date.now()}.db`);
  const started = performance.now();
  try {
    const result = JSON.parse(
      execFileSync(bin, ['devices', '--registry', db, 'import', '--from', source, file, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    return { wall: (performance.now() - started) / 1000, ...result };
  } catch (error) {
    return {
      wall: (performance.now() - started) / 1000,
      failed: String(error.stderr ?? error.message)
        .trim()
        .split('\n')
        .at(-1),
    };
  } finally {
    rmSync(db, { force: true });
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
  }
}

const files = { parse: join(dir, 'parse-installations.json'), leancloud: join(dir, 'leancloud-installations.jsonl') };
for (const [source, file] of Object.entries(files)) await write(file, source);
const builds = [...(before ? [['before', before]] : []), ['this build', join(root, 'bin/pushcast.js')]];
for (const [source, file] of Object.entries(files)) {
  const megabytes = Math.round(statSync(file).size / 2 ** 20);
  for (const [name, bin] of builds) {
    const run = importWith(bin, source, file);
    const shape = source === 'parse' ? `{"results": […]}${pretty ? ' indented' : ''}` : 'JSON lines';
    console.log(
      run.failed
        ? `${name}: --from ${source} (${shape}, ${megabytes} MB): failed after ${run.wall.toFixed(1)} s: ${run.failed}`
        : `${name}: --from ${source} (${shape}, ${megabytes} MB): ${run.imported} imported in ${run.wall.toFixed(1)} s wall (${Math.round(run.imported / run.wall)}/s; the import itself ${run.resources.seconds.toFixed(1)} s, ${run.resources.cpuSeconds.toFixed(1)} s of CPU), peak RSS ${run.resources.peakRssMB} MB`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Node ${process.version}`);
