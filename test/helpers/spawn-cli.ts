import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The installed command: the built CLI, as users run it. PUSHCAST_TEST_BIN runs the tests against
 * another build instead, such as an older release, to show a test fails where a defect was.
 */
export const bin = process.env.PUSHCAST_TEST_BIN ?? join(root, 'bin/pushcast.js');

export interface SpawnResult {
  code: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From start to exit, in ms. */
  ms: number;
  exitedAt: number;
}

export interface SpawnOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** `ulimit -f`: the largest file the process may write, in 512-byte blocks (a disk that fills up). */
  fileSizeBlocks?: number;
  /** Killed (SIGKILL) after this long: a run that hangs fails its test instead of the suite. */
  timeoutMs?: number;
}

/** Runs `pushcast ARGS` in a process of its own and resolves when it has exited; `child` is the process, to signal it. */
export function spawnCli(args: string[], options: SpawnOptions): Promise<SpawnResult> & { child: ChildProcess } {
  const started = Date.now();
  const [command, commandArgs] =
    options.fileSizeBlocks === undefined
      ? [process.execPath, [bin, ...args]]
      : ['sh', ['-c', `ulimit -f ${options.fileSizeBlocks} && exec "$0" "$@"`, process.execPath, bin, ...args]];
  const child = spawn(command, commandArgs, { cwd: options.cwd, env: { PATH: process.env.PATH, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exited = new Promise<SpawnResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exitedAt = Date.now();
      resolve({ code, signal, stdout, stderr, ms: exitedAt - started, exitedAt });
    });
  });
  return Object.assign(exited, { child });
}
