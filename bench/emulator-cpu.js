// node bench/emulator-cpu.js --vs OTHER_DIST [--size 20000] [--rounds 4]
// The emulator's own CPU a request, this build's (dist/) beside another's (say a worktree of an
// older commit, built): each emulator in a process of its own, the same sender (this CLI,
// --workers 0) sending SIZE FCM recipients to it, the two alternating round by round. Reports the
// medians and their ratio. For what a change to the emulator costs the machine it shares with a
// sender in the tests and in `npm run bench`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const root = fileURLToPath(new URL('..', import.meta.url));
const other = option('vs');
if (!other) throw new Error('usage: node bench/emulator-cpu.js --vs OTHER_DIST [--size 20000] [--rounds 4]');
const builds = [join(root, 'dist'), resolve(other)];
const size = Number(option('size', 20_000));
const rounds = Number(option('rounds', 4));

// Runs in the emulator's process: starts it from one build, prints its config, answers with its CPU.
const emulatorMain = `
const { startEmulator } = await import(process.argv[1] + '/emulator/start-emulator.js');
const emulator = await startEmulator({ keepDelivered: false, latencyMs: 1 });
process.stdout.write(JSON.stringify(emulator.config()) + '\\n');
process.on('message', () => {
  const used = process.cpuUsage();
  process.send({ cpuMs: (used.user + used.system) / 1000, requests: emulator.stats().requests.fcm });
});`;

const dir = mkdtempSync(join(tmpdir(), 'pushcast-emulator-cpu-'));
writeFileSync(join(dir, 'message.json'), JSON.stringify({ title: 'Hello', body: 'World' }));
const tokens = Array.from({ length: size }, (_, i) => `fcm,bench${String(i).padStart(8, '0')}:APA91b${'x'.repeat(134)}`);
writeFileSync(join(dir, 'audience.csv'), `provider,token\n${tokens.join('\n')}\n`);

const perRequest = new Map(builds.map((build) => [build, []]));
for (let round = 0; round < rounds; round++) {
  for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
    const emulator = spawn(process.execPath, ['--input-type=module', '-e', emulatorMain, build], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const config = await new Promise((done) => {
      let output = '';
      emulator.stdout.on('data', (chunk) => (output += chunk) && output.includes('\n') && done(output));
    });
    writeFileSync(join(dir, 'config.json'), config);
    const args = ['send', '--config', join(dir, 'config.json'), '-a', join(dir, 'audience.csv'), '-m', join(dir, 'message.json')];
    execFileSync(process.execPath, [join(root, 'bin/pushcast.js'), ...args, '--no-journal', '--quiet', '--workers', '0'], { stdio: 'ignore' });
    emulator.send('cpu');
    const { cpuMs, requests } = await new Promise((done) => emulator.once('message', done));
    emulator.kill();
    perRequest.get(build).push((cpuMs * 1000) / requests);
    console.error(`round ${round + 1}, ${build}: ${requests} requests, ${((cpuMs * 1000) / requests).toFixed(0)} µs of emulator CPU each`);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const [mine, theirs] = builds.map((build) => median(perRequest.get(build)));
console.log(`emulator CPU a request, medians of ${rounds}: this build ${mine.toFixed(0)} µs, ${other} ${theirs.toFixed(0)} µs: ${(mine / theirs).toFixed(2)}×`);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Node ${process.version}`);
