import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bin, root } from './spawn-cli.js';

/** The environment of a person's terminal: no CI, no NO_COLOR. */
export const terminalEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color' };

export interface Terminal {
  /** What the terminal has shown so far, both streams. */
  output(): string;
  /** Types a line and Enter, or "CTRL-C" as the keystroke (the terminal turns it into SIGINT). */
  type(line: string): void;
  /** The exit code, or minus the signal that killed the process (as Python reports it). */
  exited: Promise<number>;
}

/** Runs `pushcast ARGS` in a pseudo-terminal COLUMNS wide (test/helpers/run-in-terminal.py), as a person runs it. */
export function openTerminal(columns: number, args: string[], cwd: string, env: NodeJS.ProcessEnv = terminalEnv): Terminal {
  const child = spawn('python3', [join(root, 'test/helpers/run-in-terminal.py'), String(columns), process.execPath, bin, ...args], { cwd, env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return {
    output: () => output,
    type: (line) => child.stdin.write(`${line}\n`),
    exited: new Promise((resolve) =>
      child.on('close', () => {
        clearTimeout(timer);
        resolve(Number(/\[exit (-?\d+)\]\s*$/.exec(output)?.[1] ?? NaN));
      }),
    ),
  };
}
