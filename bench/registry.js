// npm run bench:registry [-- --devices 1000000 --users 100000] [--json]
// Imports generated devices with `pushcast devices import` (as a user runs it), then resolves a
// user-ID audience through the registry, each in a fresh process; prints rows/s and peak RSS
// (--json: one line, for bench/sqlite-drivers.js). PUSHCAST_SQLITE_DRIVER picks the SQLite driver.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return Number(at > 0 ? process.argv[at + 1] : fallback);
};
const deviceCount = arg('devices', 1_000_000);
const userCount = arg('users', 100_000);
const dir = mkdtempSync(join(tmpdir(), 'pushcast-registry-'));

// Two devices per user on average: a phone (FCM) and a tablet (APNs) for half the users, one for the rest.
const users = Math.round(deviceCount / 2);
const devicesFile = join(dir, 'devices.csv');
const out = createWriteStream(devicesFile);
out.write('provider,token,user_id,locale,channels\n');
for (let i = 0; i < deviceCount; i++) {
  const hash = createHash('sha256').update(`device${i}`).digest();
  const line =
    i % 2 === 0
      ? `fcm,${hash.toString('base64url').slice(0, 22)}:APA91b${hash.toString('base64url').repeat(4).slice(0, 134)},u${i % users},en,news\n`
      : `apns,${hash.toString('hex')},u${i % users},fa,news;sales\n`;
  if (!out.write(line)) await once(out, 'drain');
}
out.end();
await once(out, 'finish');

const json = process.argv.includes('--json');
const say = (line) => json || console.log(line);
const db = join(dir, 'pushcast.db');
const imported = JSON.parse(
  execFileSync(process.execPath, [join(root, 'bin/pushcast.js'), 'devices', '--registry', db, 'import', devicesFile, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
);
say(
  `import ${imported.imported} devices: ${Math.round(imported.imported / imported.resources.seconds)} rows/s, ${imported.resources.seconds.toFixed(1)} s, peak RSS ${imported.resources.peakRssMB} MB`,
);

const audience = join(dir, 'users.csv');
writeFileSync(audience, `user_id,name\n${Array.from({ length: userCount }, (_, i) => `u${(i * 7) % (users + userCount / 10)},User ${i}`).join('\n')}\n`);
const resolved = JSON.parse(execFileSync(process.execPath, [join(root, 'bench/lib/resolve-worker.js'), db, audience], { encoding: 'utf8' }));
say(
  `resolve ${resolved.users} users to ${resolved.devices} devices (${resolved.unknown} unknown): ${Math.round(resolved.users / resolved.seconds)} users/s, peak RSS ${resolved.peakRssMB} MB`,
);
say(`machine: ${cpus().length} x ${cpus()[0]?.model}, Node ${process.version}`);
if (json) {
  const figures = (result, count) => ({ count, seconds: result.seconds, peakRssMB: result.peakRssMB });
  console.log(JSON.stringify({ import: figures(imported.resources, imported.imported), resolve: figures(resolved, resolved.users) }));
}
