import type { Readable, Writable } from 'node:stream';

/** Everything a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/** Colour and spinners only for a person at a terminal: not in CI, not with NO_COLOR, not with --quiet or --json. */
export function isInteractive(io: CliIo, options: { quiet?: boolean; json?: boolean } = {}): boolean {
  return Boolean(io.stderr.isTTY) && !options.quiet && !options.json && !io.env.NO_COLOR && !io.env.CI && io.env.TERM !== 'dumb';
}

/**
 * Text for a person's terminal with the control characters it could act on (escape sequences from
 * a binary file's "header", a row's cell) written out as \xNN. Line breaks and tabs stay.
 */
export function terminalText(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are shown escaped
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
