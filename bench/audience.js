// npm run bench:audience [-- --sizes 100000,1000000]
// Streams generated audiences through parse + render + validate with the CLI's own dry run,
// each size in a fresh process started as a user starts it, and prints rows/s and peak RSS:
// memory must stay flat as the audience grows.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAudience } from './lib/generate-audience.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const sizesArg = process.argv.indexOf('--sizes');
const sizes = sizesArg > 0 ? process.argv[sizesArg + 1].split(',').map(Number) : [100_000, 1_000_000];
const dir = join(tmpdir(), 'pushcast-bench');
mkdirSync(dir, { recursive: true });

const results = [];
for (const size of sizes) {
  const file = await generateAudience(join(dir, `audience-${size}.csv`), size);
  const out = execFileSync(
    join(root, 'bin', 'pushcast.js'),
    ['send', '-a', file, '-m', join(root, 'fixtures', 'message.json'), '--apns-topic', 'com.example.bench', '--dry-run', '--json'],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  const plan = JSON.parse(out);
  const result = { size, rows: plan.rows, recipients: plan.recipients, ...plan.resources, rowsPerSecond: Math.round(plan.rows / plan.resources.seconds) };
  results.push(result);
  console.log(`${String(size).padStart(9)} rows  ${String(result.rowsPerSecond).padStart(7)} rows/s  ${result.seconds.toFixed(2).padStart(6)} s  peak RSS ${result.peakRssMB} MB`);
}
if (results.length >= 2) {
  const [small, large] = [results[0], results[results.length - 1]];
  console.log(`peak RSS at ${large.size} rows / at ${small.size} rows: ${(large.peakRssMB / small.peakRssMB).toFixed(2)}`);
}
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
console.log(`machine: ${machine}`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'audience.json'), `${JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2)}\n`);
