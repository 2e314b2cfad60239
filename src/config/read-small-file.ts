import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { Socket } from 'node:net';

/**
 * Files that should be small (a config, a key, a lock) are read without trusting them to be: one
 * bigger than `limit` bytes is refused from its size, before a byte of it is read, and one whose
 * size cannot be known first (a pipe, a device) is read no further than the limit. `what` names
 * the kind of file for the message, as in "too big for a config file".
 */
export interface SmallFile {
  limit: number;
  what: string;
}

/** A file bigger than it can be; the message says how big, for `describeFileError`. */
export class FileTooBigError extends Error {
  readonly code = 'EFBIG';
  constructor(size: number | undefined, { limit, what }: SmallFile) {
    super(
      `${size === undefined ? `more than ${sizeText(limit)}, too big for ${what}` : `${sizeText(size)}, too big for ${what} (at most ${sizeText(limit)})`}: is it the right file?`,
    );
  }
}

/**
 * Reads a small file, or a pipe (`--config <(…)`, a FIFO) until its writer closes it, for as long
 * as `signal` is not aborted: the pipe is opened without blocking and read from the event loop,
 * so SIGTERM is heard while its writer is slow, and nothing is left waiting. Without a signal, a
 * pipe is refused rather than waited on.
 */
export async function readSmallFile(path: string, small: SmallFile & { signal?: AbortSignal }): Promise<Buffer> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let closedByPipe = false;
  try {
    const info = fstatSync(fd);
    if (!info.isFIFO()) return readOpened(fd, info.isFile() ? info.size : undefined, small);
    if (!small.signal) throw new Error(`a pipe, not ${small.what}`);
    closedByPipe = true;
    return await readPipe(fd, small, small.signal);
  } finally {
    if (!closedByPipe) closeSync(fd);
  }
}

/** The same for a caller that cannot wait: key material read while the providers are set up. A pipe blocks until its writer is done, as a plain read would. */
export function readSmallFileSync(path: string, small: SmallFile): Buffer {
  const fd = openSync(path, 'r');
  try {
    const info = fstatSync(fd);
    return readOpened(fd, info.isFile() ? info.size : undefined, small);
  } finally {
    closeSync(fd);
  }
}

function readOpened(fd: number, size: number | undefined, small: SmallFile): Buffer {
  if (size !== undefined && size > small.limit) throw new FileTooBigError(size, small);
  const buffer = Buffer.alloc(small.limit + 1);
  let length = 0;
  for (let read = 1; read > 0 && length < buffer.length; length += read) read = readSync(fd, buffer, length, buffer.length - length, null);
  // A file that grew since it was measured, or a device that never ends.
  if (length > small.limit) throw new FileTooBigError(undefined, small);
  return buffer.subarray(0, length);
}

function readPipe(fd: number, small: SmallFile, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pipe = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    let length = 0;
    const end = (error?: unknown): void => {
      signal.removeEventListener('abort', interrupted);
      pipe.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const interrupted = (): void => end(signal.reason);
    pipe.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > small.limit) end(new FileTooBigError(undefined, small));
      else chunks.push(chunk);
    });
    pipe.on('end', () => end());
    pipe.on('error', end);
    if (signal.aborted) interrupted();
    else signal.addEventListener('abort', interrupted, { once: true });
  });
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MB`;
  return bytes >= 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${bytes} bytes`;
}
