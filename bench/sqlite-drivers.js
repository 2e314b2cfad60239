// node bench/sqlite-drivers.js [--devices 200000 --users 100000 --rounds 3]
// The registry on SQLite through Node's own node:sqlite and through better-sqlite3, in turn, in one
// run: bench/registry.js (import with `pushcast devices import`, then resolve users) once per
// driver per round, alternating so that the machine's drift falls on both. Needs a Node.js with
// node:sqlite and a better-sqlite3 built for it: `.ci/on-node 26 node bench/sqlite-drivers.js`.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('registry.js', import.meta.url));
const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : String(fallback);
};
const devices = option('devices', 200_000);
const users = option('users', 100_000);
const rounds = Number(option('rounds', 3));
const drivers = ['node:sqlite', 'better-sqlite3'];

const runs = Object.fromEntries(drivers.map((driver) => [driver, []]));
for (let round = 0; round < rounds; round++) {
  for (const driver of round % 2 === 0 ? drivers : [...drivers].reverse()) {
    const output = execFileSync(process.execPath, [script, '--devices', devices, '--users', users, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, PUSHCAST_SQLITE_DRIVER: driver },
    });
    const result = JSON.parse(output.trim().split('\n').pop());
    runs[driver].push(result);
    console.error(`round ${round + 1} ${driver}: import ${result.import.seconds.toFixed(1)} s, resolve ${result.resolve.seconds.toFixed(1)} s`);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const row = (label, pick) => {
  const [own, native] = drivers.map((driver) => median(runs[driver].map(pick)));
  return `| ${label} | ${own.toFixed(1)} | ${native.toFixed(1)} | ${(own / native).toFixed(2)}× |`;
};
console.log(`${rounds} rounds, medians; ${cpus().length} x ${cpus()[0]?.model}, Node ${process.version}\n`);
console.log('| | node:sqlite | better-sqlite3 | node:sqlite / better-sqlite3 |\n|---|---:|---:|---:|');
console.log(row(`import ${devices} devices, s`, (result) => result.import.seconds));
console.log(row(`resolve ${users} users, s`, (result) => result.resolve.seconds));
console.log(row('import, peak RSS MB', (result) => result.import.peakRssMB));
console.log(row('resolve, peak RSS MB', (result) => result.resolve.peakRssMB));
