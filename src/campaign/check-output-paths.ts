import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { oneLine } from '../domain/quote-value.js';
import { UsageError } from '../errors.js';

/**
 * The files a send will write, checked before anything is sent: a report that cannot be written
 * after the campaign is lost, and a journal that cannot be written makes a re-run send again.
 */
export function checkOutputPaths(files: Array<{ flag: string; path: string | undefined }>, cwd: string): void {
  for (const { flag, path } of files) {
    if (path === undefined) continue;
    const problem = fileProblem(resolve(cwd, path));
    if (problem) throw new UsageError(`${flag} ${path}: ${problem}; nothing was sent`);
  }
}

/** Creates the journal folder if need be, and checks it can be written in. */
export function prepareJournalDir(dir: string, label: string): void {
  const existing = statOf(dir);
  let problem: string | undefined;
  if (existing && !existing.isDirectory()) problem = 'is a file, expected a folder';
  else if (!existing) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      problem = `cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
    }
  }
  if (!problem && !writable(dir)) problem = 'cannot be written in (permission denied)';
  if (problem) throw new UsageError(`journal folder ${oneLine(label)}: ${problem}; nothing was sent`);
}

function fileProblem(path: string): string | undefined {
  const existing = statOf(path);
  if (existing?.isDirectory()) return 'is a folder, expected a file';
  const dir = dirname(path);
  const parent = statOf(dir);
  if (!parent) return `the folder ${dir} does not exist`;
  if (!parent.isDirectory()) return `${dir} is a file, not a folder`;
  if (existing ? !writable(path) : !writable(dir)) return existing ? 'cannot be written (permission denied)' : `cannot write in ${dir} (permission denied)`;
  return undefined;
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined; // missing, or a file where a folder should be on the way to it
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
