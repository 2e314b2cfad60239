import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { checkOutputPaths } from '../campaign/check-output-paths.js';
import { describeFileError, UsageError } from '../errors.js';
import { metricsText, type RunMetrics } from '../report/metrics-text.js';
import type { CliIo } from './io.js';

/** Where --events goes, and how to end it when the command is done. */
export interface EventsOut {
  out: Writable;
  /** Standard output: the command's summary goes to standard error instead. */
  toStdout: boolean;
  end(): Promise<void>;
}

/**
 * Opens --events: `-` is standard output (with --json, which owns it, refused), a file is appended
 * to, so that each run of a campaign adds its lines. Checked before anything is sent.
 */
export function openEvents(target: string | undefined, json: boolean | undefined, io: CliIo): EventsOut | undefined {
  if (target === undefined) return undefined;
  if (target === '-') {
    if (json) throw new UsageError('--events - writes the events to standard output, where --json prints the report: give --events a file, or leave out --json');
    return { out: io.stdout, toStdout: true, end: async () => undefined };
  }
  checkOutputPaths([{ flag: '--events', path: target }], io.cwd);
  const out = createWriteStream(resolve(io.cwd, target), { flags: 'a', mode: 0o600 });
  // Its failures are the feed's to tell (report/events-feed.ts); none may end the process.
  out.on('error', () => undefined);
  return {
    out,
    toStdout: false,
    end: async () => {
      if (!out.writableEnded && !out.destroyed) out.end();
      if (!out.closed) await once(out, 'close').catch(() => undefined);
    },
  };
}

/** Checks --metrics-file can be written before anything is sent: a cron job's alert depends on it. */
export function checkMetricsFile(target: string | undefined, io: CliIo): void {
  if (target !== undefined) checkOutputPaths([{ flag: '--metrics-file', path: target }], io.cwd);
}

/**
 * Writes --metrics-file whole or not at all (a temporary file renamed over it): node_exporter's
 * textfile collector may read it at any moment, and reads only names ending in .prom. Readable by
 * others (0644): the collector often runs as another user, and the file holds no token.
 */
export async function writeMetricsFile(target: string, run: RunMetrics, io: CliIo): Promise<void> {
  const path = resolve(io.cwd, target);
  const temporary = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    await writeFile(temporary, metricsText(run));
    await chmod(temporary, 0o644); // past a cron umask of 077
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    io.stderr.write(`pushcast: the metrics file was not written: ${describeFileError(target, error)}\n`);
  }
}
