// npm run bench:campaign-features [-- --size 30000] [-- --pairs 3] [-- --features variants,cap,label]
// What the campaign features cost the sender, on this machine: CPU per message (the record's own
// resources.cpuSeconds) of the same send with and without each feature, run in alternation,
// pair after pair, against the emulator in its own process:
//   - A/B variants: --message one.json, against --variant a.json --variant b.json --holdout 10%
//     (per recipient: a SHA-256 draw, and the variant's template);
//   - the frequency cap: a user-ID audience resolved through the registry, without and with
//     --cap 50/24h (never reached here), after earlier campaigns left claims on every user (per batch: one more query);
//   - the analytics label: --no-label against the default (a label per message).
// Prints one JSON line of medians and each pair's ratio (feature / without).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulatorProcess } from './lib/emulator-process.js';
import { generateAudience } from './lib/generate-audience.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/pushcast.js');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const size = Number(arg('size', 30_000));
const pairs = Number(arg('pairs', 3));
// --features variants,label: only these.
const only = arg('features')?.split(',');

const dir = mkdtempSync(join(tmpdir(), 'pushcast-bench-features-'));
const emulator = await startEmulatorProcess(dir, ['--latency', '1']);
const tokens = await generateAudience(join(dir, 'tokens.csv'), size, { providers: ['fcm', 'apns'] });
const message = (name, title) => {
  writeFileSync(join(dir, name), JSON.stringify({ title, body: 'Hello {{default name "there"}}' }));
  return name;
};
message('one.json', 'One');
message('a.json', 'Variant A');
message('b.json', 'Variant B');

// A registry of `size` users, one FCM device each, and two earlier campaigns that reached them all.
const registry = join(dir, 'pushcast.db');
writeFileSync(join(dir, 'devices.csv'), ['provider,token,user_id', ...Array.from({ length: size }, (_, i) => `fcm,bench-cap-${i}-${'x'.repeat(140)},u${i}`)].join('\n'));
writeFileSync(join(dir, 'users.csv'), ['user_id', ...Array.from({ length: size }, (_, i) => `u${i}`)].join('\n'));
const cli = (args) => JSON.parse(execFileSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 }));
execFileSync(process.execPath, [bin, 'devices', '--registry', registry, 'import', 'devices.csv'], { cwd: dir });
for (const earlier of ['earlier-1', 'earlier-2'])
  cli(['send', '--config', emulator.configPath, '--registry', registry, '-a', 'users.csv', '-m', 'one.json', '--campaign', earlier, '--json']);

let round = 0;
/** CPU seconds per thousand messages of one send, from its record; each a new campaign, no journal. */
function cpuPerThousand(args) {
  round++;
  const record = cli(['send', '--config', emulator.configPath, '--registry', registry, '--campaign', `bench-${round}`, '--no-journal', '--json', ...args]);
  const handled = record.counts.targeted + record.counts.skipped;
  return (record.resources.cpuSeconds / handled) * 1000;
}

const features = {
  variants: [
    ['-a', tokens, '-m', 'one.json'],
    ['-a', tokens, '--variant', 'a.json', '--variant', 'b.json', '--holdout', '10%'],
  ],
  cap: [
    ['-a', 'users.csv', '-m', 'one.json'],
    ['-a', 'users.csv', '-m', 'one.json', '--cap', '50/24h'],
  ],
  label: [
    ['-a', tokens, '-m', 'one.json', '--no-label'],
    ['-a', tokens, '-m', 'one.json'],
  ],
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const result = { machine: `${cpus().length} x ${cpus()[0].model}`, node: process.version, size, pairs, features: {} };
for (const [name, [without, withFeature]] of Object.entries(features).filter(([name]) => !only || only.includes(name))) {
  const ratios = [];
  const runs = { without: [], with: [] };
  for (let pair = 0; pair < pairs; pair++) {
    // Alternate which goes first, so that a machine warming up or getting busier favours neither.
    const order = pair % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
    const measured = {};
    for (const which of order) measured[which] = cpuPerThousand(which === 'with' ? withFeature : without);
    runs.without.push(measured.without);
    runs.with.push(measured.with);
    ratios.push(measured.with / measured.without);
  }
  result.features[name] = {
    cpuMsPerThousandWithout: Math.round(median(runs.without) * 1000),
    cpuMsPerThousandWith: Math.round(median(runs.with) * 1000),
    ratioMedian: Math.round(median(ratios) * 100) / 100,
    ratios: ratios.map((ratio) => Math.round(ratio * 100) / 100),
  };
}
emulator.stop();
console.log(JSON.stringify(result));
