import { PassThrough, Readable } from 'node:stream';
import { run } from '../../src/cli/main.js';
import { tempDir } from './tokens.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in this process with captured output, as `pushcast ARGS` would from `cwd`: by
 * default a fresh folder, so campaign journals never carry over from one test to the next.
 */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string; /** As SIGINT would abort it. */ signal?: AbortSignal } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
  stderr.on('data', (chunk: Buffer) => chunks.stderr.push(chunk));
  const code = await run(args, {
    stdout,
    stderr,
    stdin: Readable.from([options.stdin ?? '']),
    env: options.env ?? {},
    cwd: options.cwd ?? tempDir(),
    ownProcess: process,
    signal: options.signal ?? new AbortController().signal,
  });
  return { code, stdout: Buffer.concat(chunks.stdout).toString('utf8'), stderr: Buffer.concat(chunks.stderr).toString('utf8') };
}
