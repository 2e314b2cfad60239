// npm run bench [-- --size 100000] [-- --providers fcm,apns,webpush] [-- --no-rss] [-- --rounds 3]
//   [-- --contenders pushcast,bare] [-- --compare-bin ../older/bin/pushcast.js]
//   [-- --quick]: 20,000 per provider, pushcast, the library alone and the bare client only, about a
//   minute, and the ratios as one JSON line at the end (sender CPU per message is what carries
//   over to a deployment, where the provider is remote and this machine's emulator takes none of
//   its cores).
// One run, on this machine: the emulator in its own process with a little latency and a small
// error mix; the same generated audience sent through pushcast (the CLI, as users run it),
// @parse/push-adapter, two hand-written baselines, the provider library alone, and a bare client
// (the ceiling). Every contender runs in a fresh process; messages lost are counted from the
// emulator's own counters.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { defaultBehaviour, fateOf } from '../dist/emulator/fate.js';
import { startEmulatorProcess } from './lib/emulator-process.js';
import { generateAudience } from './lib/generate-audience.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const size = Number(arg('size', quick ? 20_000 : 100_000));
// --rss-only: just pushcast's peak memory at 100k and 1M recipients (journal on; --workers 0 and 2).
const providers = process.argv.includes('--rss-only') ? [] : arg('providers', 'fcm,apns,webpush').split(',');
const sequentialLimit = Number(arg('sequential-limit', 2000));
const measureRss = !process.argv.includes('--no-rss') && !quick;
const timeoutMs = Number(arg('timeout', 300)) * 1000;
const rounds = Number(arg('rounds', 1));
// Another pushcast build to run beside this one, on the same emulator and audience: before and after a change.
const compareBin = arg('compare-bin');
const chosen = arg('contenders')?.split(',');
// --quick, in about a minute: pushcast against the library alone and the bare client; web-push's
// stock client, which sends under a thousand a second, sends the first 5,000 only.
const quickContenders = ['pushcast', 'library alone', 'bare client (ceiling)'];
const quickLibraryLimit = 5000;
const errorMix = { seed: 'bench', unregistered: 0.01, unavailable: 0.005 };

const dir = mkdtempSync(join(tmpdir(), 'pushcast-bench-'));
const emulator = await startEmulatorProcess(dir, [
  '--seed',
  errorMix.seed,
  '--unregistered',
  String(errorMix.unregistered),
  '--unavailable',
  String(errorMix.unavailable),
  '--retry-after',
  '0',
  '--latency',
  '1',
]);
const behaviour = { ...defaultBehaviour, ...errorMix };

const pushcastBin = join(root, 'bin/pushcast.js');

function run(file, args, label) {
  return new Promise((resolve) => {
    const started = Date.now();
    // pushcast runs as users run it: the executable itself, with the flags in its shebang.
    const [command, commandArgs] = file === pushcastBin || file === compareBin ? [file, args] : [process.execPath, [file, ...args]];
    execFile(command, commandArgs, { cwd: dir, maxBuffer: 256 << 20, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const lastLine = stdout.trim().split('\n').pop();
      try {
        resolve(JSON.parse(lastLine));
      } catch {
        const why = error?.killed ? `timed out after ${timeoutMs / 1000} s` : `failed: ${(stderr || String(error)).trim().split('\n').slice(-2).join(' ')}`;
        console.error(`  ${label}: ${why}`);
        resolve({ error: why, seconds: (Date.now() - started) / 1000 });
      }
    });
  });
}

/** pushcast's arguments to send an audience as a campaign of its own (the same name would resume it), journal on. */
const pushcastSend = (audience, campaign, ...extra) => [
  'send',
  '--config',
  emulator.configPath,
  '-a',
  audience,
  '-m',
  join(root, 'fixtures/message.json'),
  '--json',
  '--campaign',
  campaign,
  '--journal-dir',
  join(dir, 'journals'),
  ...extra,
];

const results = {};
for (const provider of providers) {
  const audience = await generateAudience(join(dir, `${provider}-${size}.csv`), size, { providers: [provider] });
  const rows = parse(readFileSync(audience), { columns: true });
  const liveIn = (count) => rows.slice(0, count).filter((row) => fateOf(behaviour, provider, provider === 'webpush' ? row.endpoint : row.token, 1) !== 'unregistered').length;
  // A campaign name per round: the same name would resume the round before and send nothing.
  const sendArgs =
    (campaign, ...extra) =>
    (round) =>
      pushcastSend(audience, `${campaign}-${round}`, ...extra);
  const libraryCount = quick && provider === 'webpush' ? Math.min(quickLibraryLimit, size) : size;
  const contenders = [
    ['pushcast', pushcastBin, sendArgs(`bench-${provider}`), size],
    // Sending threads: the clients' work (web push: its encryption) on both cores.
    ['pushcast --workers 2', pushcastBin, sendArgs(`bench-w2-${provider}`, '--workers', '2'), size],
    ...(compareBin ? [['pushcast (compared)', compareBin, sendArgs(`bench-compared-${provider}`), size]] : []),
    ['@parse/push-adapter', join(root, 'bench/contenders/parse-adapter.js'), [provider, audience, emulator.configPath], size],
    ['naive Promise.all', join(root, 'bench/contenders/naive.js'), [provider, audience, emulator.configPath, String(size), 'all'], size],
    [
      'naive sequential',
      join(root, 'bench/contenders/naive.js'),
      [provider, audience, emulator.configPath, String(sequentialLimit), 'sequential'],
      Math.min(sequentialLimit, size),
    ],
    ['library alone', join(root, 'bench/contenders/library.js'), [provider, audience, emulator.configPath, String(libraryCount)], libraryCount],
    ['bare client (ceiling)', join(root, 'bench/contenders/bare.js'), [provider, audience, emulator.configPath], size],
  ].filter(([name]) => (chosen ? chosen.some((wanted) => name.startsWith(wanted)) : !quick || quickContenders.includes(name)));
  results[provider] = [];
  console.log(`\n${provider}: ${size} recipients (${rows.length - liveIn(size)} dead tokens), emulator latency 1 ms, 0.5% first attempts answered 503`);
  // Rounds alternate the contenders, so a slow spell of the shared machine falls on all of them;
  // each contender's row is its median round by CPU a message, with the range beside it.
  const runs = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, [name, file, args, count]] of contenders.entries())
      runs[index].push(await runContender(provider, name, file, typeof args === 'function' ? args(round) : args, count, liveIn));
  }
  results[provider] = runs.map(medianRun);
  const base = results[provider][0].sendsPerSecond;
  for (const entry of results[provider]) entry.ratioToPushcast = entry.sendsPerSecond && base ? Math.round((entry.sendsPerSecond / base) * 100) / 100 : null;
  printTable(results[provider]);
}

const rss = {};
if (measureRss) {
  // As the target reads: a real send with its journal, in the main thread and with two sending threads.
  console.log('\npushcast peak RSS, FCM, journal on, 100,000 vs 1,000,000 recipients');
  for (const workers of [0, 2]) {
    const sizes = {};
    for (const count of [100_000, 1_000_000]) {
      const audience = await generateAudience(join(dir, `rss-${count}.csv`), count, { providers: ['fcm'] });
      await emulator.reset();
      const outcome = await run(
        join(root, 'bin/pushcast.js'),
        pushcastSend(audience, `rss-${count}-w${workers}`, '--workers', String(workers)),
        `pushcast ${count} --workers ${workers}`,
      );
      sizes[count] = outcome.resources ?? outcome;
      console.log(`  --workers ${workers} ${String(count).padStart(9)}: peak RSS ${outcome.resources?.peakRssMB} MB, ${Math.round(count / outcome.resources?.seconds)} sends/s`);
    }
    if (sizes[100_000]?.peakRssMB && sizes[1_000_000]?.peakRssMB)
      console.log(`  --workers ${workers} 1M / 100k: ${(sizes[1_000_000].peakRssMB / sizes[100_000].peakRssMB).toFixed(2)}`);
    rss[`workers${workers}`] = sizes;
  }
}
emulator.stop();

const machine = `${cpus().length} x ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`\nmachine: ${machine}`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
// A run of some contenders, or against another build, is a comparison: it leaves the published results alone.
const resultsFile = process.argv.includes('--rss-only') ? 'rss.json' : chosen || compareBin || quick ? 'compare.json' : 'bench.json';
writeFileSync(join(root, 'bench/results', resultsFile), `${JSON.stringify({ machine, date: new Date().toISOString(), size, errorMix, results, rss }, null, 2)}\n`);
if (quick) {
  // One line for scripts: per provider, pushcast against the library alone and the bare client, measured in this run.
  const ratios = {};
  const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  for (const [provider, entries] of Object.entries(results)) {
    const find = (prefix) => entries.find((entry) => entry.name === prefix || entry.name.startsWith(`${prefix} `));
    const [pushcast, library, bare] = [find('pushcast'), find('library'), find('bare')];
    const each = (field) => ({ pushcast: pushcast?.[field] ?? null, library: library?.[field] ?? null, bare: bare?.[field] ?? null });
    ratios[provider] = {
      sendsPerSecond: each('sendsPerSecond'),
      cpuMicrosPerMessage: each('cpuMicrosPerMessage'),
      cpuRatioToLibrary: ratio(pushcast?.cpuMicrosPerMessage, library?.cpuMicrosPerMessage),
      cpuRatioToBare: ratio(pushcast?.cpuMicrosPerMessage, bare?.cpuMicrosPerMessage),
      lost: pushcast?.lost ?? null,
    };
  }
  console.log(JSON.stringify({ quick: true, machine, size, ratios }));
}
process.exit(0);

async function runContender(provider, name, file, args, count, liveIn) {
  await emulator.reset();
  const outcome = await run(file, args, name);
  const stats = await emulator.stats();
  const accepted = stats.accepted[provider];
  const entry = { name, messages: count };
  if (outcome.error) Object.assign(entry, { error: outcome.error, seconds: outcome.seconds });
  else if (name.startsWith('pushcast')) {
    Object.assign(entry, {
      seconds: outcome.resources.seconds,
      cpuSeconds: outcome.resources.cpuSeconds,
      peakRssMB: outcome.resources.peakRssMB,
      p50: outcome.resources.latencyMs?.p50 ?? null,
      p99: outcome.resources.latencyMs?.p99 ?? null,
    });
  } else Object.assign(entry, { seconds: outcome.seconds, cpuSeconds: outcome.cpuSeconds, peakRssMB: outcome.peakRssMB, p50: outcome.p50, p99: outcome.p99 });
  entry.sendsPerSecond = entry.seconds ? Math.round(count / entry.seconds) : null;
  // User + system CPU of the sender's process over the messages it sent.
  entry.cpuMicrosPerMessage = entry.cpuSeconds ? Math.round((entry.cpuSeconds * 1e6) / count) : null;
  entry.lost = liveIn(count) - accepted; // live tokens the emulator never accepted
  entry.duplicates = stats.duplicates;
  // Requests the provider saw beyond one a message: pushcast's retries, and a library's own.
  entry.resent = stats.requests[provider] - count;
  return entry;
}

/** A contender's median round by CPU a message (a failed round counts as the worst), and the range over all. */
function medianRun(entries) {
  const cpu = (entry) => entry.cpuMicrosPerMessage ?? Infinity;
  const sorted = [...entries].sort((a, b) => cpu(a) - cpu(b));
  const median = { ...sorted[Math.floor((sorted.length - 1) / 2)] };
  if (entries.length > 1) Object.assign(median, { rounds: entries.length, cpuMicrosPerMessageRange: [cpu(sorted[0]), cpu(sorted.at(-1))] });
  return median;
}

function printTable(entries) {
  const cell = (value, width) => ` ${String(typeof value === 'number' && value >= 100 ? Math.round(value) : (value ?? '-')).padStart(width - 1)}`;
  console.log(
    `  ${'contender'.padEnd(22)}${cell('sends/s', 9)}${cell('p50 ms', 9)}${cell('p99 ms', 9)}${cell('RSS MB', 8)}${cell('CPU s', 7)}${cell('µs/msg', 8)}${cell('lost', 7)}${cell('resent', 8)}${cell('x push', 7)}`,
  );
  console.log("  (p50/p99: per message, from handing its call to the client to that call's answer: a sendEach message waits for its whole batch)");
  for (const entry of entries) {
    if (entry.error) {
      console.log(`  ${entry.name.padEnd(22)}  ${entry.error}`);
      continue;
    }
    const sampled = entry.messages < size ? ` (first ${entry.messages})` : '';
    const range = entry.rounds ? ` (median of ${entry.rounds}; µs/msg ${entry.cpuMicrosPerMessageRange.join('–')})` : '';
    console.log(
      `  ${entry.name.padEnd(22)}${cell(entry.sendsPerSecond, 9)}${cell(entry.p50, 9)}${cell(entry.p99, 9)}${cell(entry.peakRssMB, 8)}${cell(entry.cpuSeconds?.toFixed(1), 7)}${cell(entry.cpuMicrosPerMessage, 8)}${cell(entry.lost, 7)}${cell(entry.resent, 8)}${cell(entry.ratioToPushcast, 7)}${sampled}${range}`,
    );
  }
}
