import type { Readable, Writable } from 'node:stream';
import { oneLine, showControls } from '../domain/quote-value.js';

/** Everything a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** This process's pid, and kill(pid, 0): whether the process holding a campaign's lock still runs. */
  ownProcess: Pick<NodeJS.Process, 'pid' | 'kill'>;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/**
 * A spinner only for a person at a terminal: not with --quiet, --json or --verbose (its lines
 * would tear the spinner), not on a dumb terminal, and not in CI or with NO_COLOR unless
 * FORCE_COLOR (1, 2 or 3) asks for it; FORCE_COLOR=0 keeps it off.
 */
export function isInteractive(io: CliIo, options: { quiet?: boolean; json?: boolean; verbose?: boolean } = {}): boolean {
  if (!io.stderr.isTTY || options.quiet || options.json || options.verbose || io.env.TERM === 'dumb') return false;
  return forcedColour(io) ?? (!io.env.NO_COLOR && !io.env.CI);
}

/** Colour in what the spinner draws: as for the spinner, and FORCE_COLOR=0 or NO_COLOR turn it off. */
export function wantsColour(io: CliIo): boolean {
  return forcedColour(io) ?? !io.env.NO_COLOR;
}

/** What FORCE_COLOR says, when it is set: on (1, 2, 3) or off (0, false). */
function forcedColour(io: CliIo): boolean | undefined {
  const force = io.env.FORCE_COLOR;
  return force === undefined || force === '' ? undefined : force !== '0' && force !== 'false';
}

/**
 * Text for a person's terminal with the control characters it could act on (escape sequences from
 * a binary file's "header", a row's cell, a right-to-left override) shown escaped. Line breaks and tabs stay.
 */
export function terminalText(text: string): string {
  return showControls(text);
}

/** A line that is one line whatever the values in it hold: terminalText, with line breaks written out as \n and \r too. */
export function terminalLine(text: string): string {
  return terminalText(oneLine(text));
}

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}

/** A line of pushcast's own on standard error (a warning, a notice, why the exit code is what it is), its values escaped. */
export function writeNotice(io: Pick<CliIo, 'stderr'>, text: string): void {
  writeLine(io.stderr, terminalText(`pushcast: ${text}`));
}
