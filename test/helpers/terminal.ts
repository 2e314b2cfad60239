import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bin, root } from './spawn-cli.js';

/** What a person's terminal has in its environment: no CI, no NO_COLOR. */
export const terminalEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color' };

export interface Terminal {
  output(): string;
  /** Types Ctrl-C (the terminal turns it into SIGINT for the process), or a line of text. */
  type(keys: 'CTRL-C' | { line: string }): void;
  /** The exit code, or minus the signal that killed the process (as Python reports it). */
  exited: Promise<number>;
}

/**
 * `pushcast ARGS` in a pseudo-terminal of `columns` columns (test/helpers/run-in-terminal.py), as a
 * person runs it: what it writes is collected, and keys typed reach it through the terminal.
 */
export function openTerminal(columns: number, args: string[], cwd: string, env: NodeJS.ProcessEnv = terminalEnv): Terminal {
  const child = spawn('python3', [join(root, 'test/helpers/run-in-terminal.py'), String(columns), process.execPath, bin, ...args], { cwd, env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return {
    output: () => output,
    type: (keys) => child.stdin.write(keys === 'CTRL-C' ? 'CTRL-C\n' : `LINE ${keys.line}\n`),
    exited: new Promise((resolve) =>
      child.on('close', () => {
        clearTimeout(timer);
        resolve(Number(/\[exit (-?\d+)\]\s*$/.exec(output)?.[1] ?? NaN));
      }),
    ),
  };
}
