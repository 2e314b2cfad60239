import { CommanderError } from 'commander';
import { errorCodes, ExitCode, nativeModuleFailure, PushcastError, UsageError } from '../errors.js';
import { terminalText, writeLine, type CliIo } from './io.js';
import { buildProgram } from './program.js';

/**
 * Runs one command line and returns its exit code. Never exits the process and never throws:
 * tests call it directly, and `main` below is the only place that touches `process`.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let result: Promise<number> | undefined;
  const program = buildProgram(io, (code) => {
    result = code;
  });
  // Whether a failure is told as JSON on stdout too: the command's own --json once its options are
  // parsed; before that (commander's own errors), whether the command line holds it at all.
  let json = argv.includes('--json');
  program.hook('preAction', (_program, command) => {
    json = command.opts().json === true;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (!result) {
      program.outputHelp();
      return ExitCode.usage;
    }
    return await result;
  } catch (error) {
    return reportError(error, io, json);
  }
}

function reportError(error: unknown, io: CliIo, json: boolean): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message. --help and --version end with 0; the help shown
    // for a command line that names no command is a usage error (commander says 1).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (json) printFailure(io, new UsageError(error.message.replace(/^error: /, '')));
    return ExitCode.usage;
  }
  if (error instanceof PushcastError) {
    io.stderr.write(`pushcast: ${terminalText(error.message)}\n`);
    if (json) printFailure(io, error);
    return error.exitCode;
  }
  const native = nativeModuleFailure(error);
  if (native) return reportError(native, io, json);
  // Anything else is a bug in pushcast: say so, with the stack, rather than hide it.
  io.stderr.write(`pushcast: unexpected error (please report it): ${(error as Error)?.stack ?? String(error)}\n`);
  if (json) printFailure(io, { code: 'PUSHCAST_INTERNAL', message: `unexpected error (please report it): ${(error as Error)?.message ?? String(error)}` });
  return ExitCode.fatal;
}

/**
 * A command that failed before it had a record to print, as the one JSON object --json promises
 * on stdout: the error's stable code (`errorCodes`), its reason word and the message stderr shows
 * (a bug's without its stack).
 */
function printFailure(io: CliIo, error: Pick<PushcastError, 'code' | 'message'>): void {
  const { exitCode, reason } = errorCodes[error.code];
  const status = exitCode === ExitCode.interrupted ? 'interrupted' : 'error';
  writeLine(io.stdout, JSON.stringify({ status, error: { code: error.code, reason, message: terminalText(error.message) } }));
}

/** How long the process may linger after its work is done before it is ended anyway. */
export const exitGraceMs = 3000;
/**
 * A second signal this soon after the first is the same keypress delivered twice: `npm start`,
 * `npm run` and `npx` forward the terminal's SIGINT to the process that already got it, and a
 * supervisor may signal the process group and the process both. They arrive a moment apart: a
 * second is generous for them and short for a person who means it. Only a later one is a second
 * Ctrl-C.
 */
export const sameSignalMs = 1000;

/**
 * Runs the command line in `proc`. `earlySignals`: SIGINT or SIGTERM that came while the CLI was
 * still loading (bin/pushcast.js kept them): they stop the run as if they came now.
 */
export async function main(proc: NodeJS.Process, earlySignals: NodeJS.Signals[] = []): Promise<void> {
  const controller = new AbortController();
  // The first Ctrl-C stops the campaign gracefully, a second ends the process at once. The handler
  // stays registered: with none, signal-exit (ora's cursor restore) re-raises the signal and kills us.
  let signalled = false;
  let samePress = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!signalled) {
      signalled = true;
      // The repeat is handled when the event loop gets to it, which stopping the campaign on a
      // busy machine can delay past the second: so the window is not closed by the clock alone,
      // but by the loop's first turn after it (a signal that arrived in time is handled in the
      // poll phase before that turn's check phase).
      samePress = true;
      setTimeout(() => setImmediate(() => (samePress = false)), sameSignalMs).unref();
      return controller.abort();
    }
    if (samePress) return;
    proc.stderr.write(`pushcast: ${signal} again: stopping now, without waiting for what is in flight\n`);
    proc.exit(ExitCode.interrupted);
  };
  proc.on('SIGINT', onSignal);
  proc.on('SIGTERM', onSignal);
  for (const signal of earlySignals) onSignal(signal);
  // Node exits when nothing is left to wait on, even with the run unfinished: that is a bug in
  // pushcast, and a cron job must hear about it rather than see exit 0.
  const unfinished = (): void => {
    proc.stderr.write('pushcast: internal error: the run stopped making progress before it finished (please report it); exiting with 2\n');
    proc.exit(ExitCode.fatal);
  };
  proc.once('beforeExit', unfinished);
  // A reader that went away (`pushcast send --help | head`) is no error: what it did not read is
  // dropped and the command goes on, so a campaign is never abandoned halfway because of its pipe.
  const readerGone = (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'EPIPE') throw error;
  };
  proc.stdout.on('error', readerGone);
  proc.stderr.on('error', readerGone);
  const code = await run(proc.argv.slice(2), {
    stdout: proc.stdout,
    stderr: proc.stderr,
    stdin: proc.stdin,
    env: proc.env,
    cwd: proc.cwd(),
    ownProcess: proc,
    signal: controller.signal,
  });
  proc.off('beforeExit', unfinished);
  proc.exitCode = code;
  proc.off('SIGINT', onSignal);
  proc.off('SIGTERM', onSignal);
  // Every client is closed by now, so Node should exit at once. If a library left a handle open,
  // a cron job must still end: exit anyway after a grace period, and say so. The timer is unref'd,
  // so it never keeps a process alive that was ending on its own.
  setTimeout(() => {
    proc.stderr.write(`pushcast: open handles kept the process alive ${exitGraceMs / 1000} s after it finished; exiting with ${code}\n`);
    proc.exit(code);
  }, exitGraceMs).unref();
}
