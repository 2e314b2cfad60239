import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import { isInteractive, type CliIo } from '../src/cli/io.js';
import { ProgressLine } from '../src/cli/progress-line.js';
import { emptyTally, type Tally } from '../src/domain/tally.js';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir, tempFile } from './helpers/tokens.js';

function tallyAt(sends: number, accepted = sends): Tally {
  const tally = emptyTally();
  tally.sends = sends;
  tally.counts.accepted = accepted;
  return tally;
}

describe('the progress line', () => {
  it('shows the share read, the current rate, an ETA from the current pace, and the counts', () => {
    let share = 0;
    const line = new ProgressLine(() => share);
    line.update(tallyAt(0), 0);
    share = 0.25;
    line.update(tallyAt(1000), 2000);
    // A quarter read in 2 s: three quarters left at that pace is 6 s.
    expect(line.text(2000)).toBe('25% read · 1000 sent · 500/s now · ETA 6 s: 1000 accepted, 0 invalid, 0 failed, 0 retries');
  });

  it('shows the current rate, not the average: a slow start does not drag it down', () => {
    const line = new ProgressLine();
    line.update(tallyAt(0), 0);
    line.update(tallyAt(10), 10_000); // 1/s for 10 s…
    line.update(tallyAt(5010), 15_000); // …then 1000/s
    expect(line.text(15_000)).toContain('1000/s now');
  });

  it('says a provider is paused, why and for how long, and forgets it when the pause is over', () => {
    const line = new ProgressLine();
    line.update(tallyAt(10), 0);
    line.decided({ type: 'pause', provider: 'fcm', until: 2000, reason: 'rate-limited', retryAfter: true });
    expect(line.text(0)).toContain('fcm paused 2 s (rate-limited, Retry-After)');
    expect(line.text(1200)).toContain('fcm paused 1 s');
    expect(line.text(2500)).not.toContain('paused');
  });

  it("on a resume, says the sends are this run's and how many of the counts earlier runs settled", () => {
    const line = new ProgressLine();
    const tally = tallyAt(3);
    tally.counts.accepted = 203;
    tally.earlier = 200;
    line.update(tally, 0);
    expect(line.text(100)).toBe('3 sent this run: 203 accepted, 0 invalid, 0 failed (200 settled by earlier runs), 0 retries');
  });

  it('has no share and no ETA for standard input, and says "1 retry"', () => {
    const line = new ProgressLine();
    const tally = tallyAt(3);
    tally.retries = 1;
    line.update(tally, 0);
    expect(line.text(100)).toBe('3 sent: 3 accepted, 0 invalid, 0 failed, 1 retry');
  });
});

describe('who gets a spinner', () => {
  const io = (env: NodeJS.ProcessEnv, isTTY = true) => ({ stderr: Object.assign(new PassThrough(), { isTTY }), env }) as unknown as CliIo;
  it.each([
    ['a terminal', {}, true, {}, true],
    ['off a terminal', {}, false, {}, false],
    ['CI', { CI: 'true' }, true, {}, false],
    ['NO_COLOR', { NO_COLOR: '1' }, true, {}, false],
    ['FORCE_COLOR in CI', { CI: 'true', FORCE_COLOR: '1' }, true, {}, true],
    ['FORCE_COLOR=0', { FORCE_COLOR: '0' }, true, {}, false],
    ['a dumb terminal', { TERM: 'dumb' }, true, {}, false],
    ['--verbose', {}, true, { verbose: true }, false],
    ['--json', {}, true, { json: true }, false],
  ] as const)('%s', (_what, env, isTTY, options, expected) => {
    expect(isInteractive(io(env, isTTY), options)).toBe(expected);
  });
});

describe('progress and --verbose against a provider that pauses', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ seed: 'progress', tooManyRequests: 0.1, retryAfterSeconds: 1 });
  });
  afterAll(() => emulator.close());
  const message = tempFile('m.json', JSON.stringify({ title: 'Hi', body: 'Progress' }));

  it('--verbose logs each batch and each retry decision, with no token and no secret', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    const audience = audienceFile('fcm', 60, 'verbose');
    const { code, stderr } = await runCli(['send', '--config', config, '-a', audience, '-m', message, '--no-journal', '--verbose'], { cwd: dir });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/^pushcast: fcm: batch of \d+ answered in \d+ ms: accepted \d+, retryable rate-limited \d+$/m);
    expect(stderr).toMatch(/^pushcast: fcm line \d+: rate-limited, attempt 2 in [\d.]+ s \(with all of fcm, as Retry-After asked\)$/m);
    expect(stderr).toMatch(/^pushcast: fcm: paused [\d.]+ m?s \(rate-limited, Retry-After\)$/m);
    const { fcm } = emulator.config();
    for (const line of (await import('node:fs')).readFileSync(audience, 'utf8').split('\n').slice(1, 10)) if (line) expect(stderr).not.toContain(line.split(',')[1]);
    expect(stderr).not.toContain(JSON.parse(String(fcm!.serviceAccount)).private_key.slice(40, 80));
  });

  it('at a terminal, the spinner shows the share read and the pause while it lasts', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, {}, dir);
    // What ora needs of a terminal: its size and cursor moves (as a tty.WriteStream has them).
    const moved = (...args: unknown[]) => {
      const done = args.at(-1);
      if (typeof done === 'function') done();
      return true;
    };
    const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40, cursorTo: moved, moveCursor: moved, clearLine: moved, clearScreenDown: moved });
    const chunks: Buffer[] = [];
    stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    const code = await run(['send', '--config', config, '-a', audienceFile('fcm', 60, 'spinner'), '-m', message, '--no-journal'], {
      stdout: new PassThrough(),
      stderr,
      stdin: Readable.from(['']),
      env: {},
      cwd: dir,
      ownProcess: process,
      signal: new AbortController().signal,
    });
    expect(code).toBe(0);
    const painted = Buffer.concat(chunks).toString('utf8');
    expect(painted).toMatch(/100% read · \d+ sent/);
    expect(painted).toMatch(/fcm paused \d s \(rate-limited, Retry-After\)/);
  });
});
