import type { Tally } from '../engine/tally.js';
import { isInteractive, type CliIo } from './io.js';

export interface Progress {
  update(tally: Tally): void;
  stop(): void;
}

const quiet: Progress = { update: () => undefined, stop: () => undefined };

/** A spinner with live counters on stderr, for a person at a terminal only: nothing in CI, cron or --json. */
export async function startProgress(io: CliIo, options: { quiet?: boolean; json?: boolean }): Promise<Progress> {
  if (!isInteractive(io, options)) return quiet;
  const { default: ora } = await import('ora');
  const spinner = ora({ stream: io.stderr, text: 'starting…' }).start();
  const started = Date.now();
  let last = 0;
  return {
    update(tally) {
      const now = Date.now();
      if (now - last < 100) return; // repainting more often only costs CPU
      last = now;
      const { targeted, accepted, invalid, failed } = tally.counts;
      const rate = Math.round(targeted / Math.max(0.001, (now - started) / 1000));
      spinner.text = `sent ${targeted} (${rate}/s): ${accepted} accepted, ${invalid} invalid, ${failed} failed, ${tally.retries} retries`;
    },
    stop() {
      spinner.stop();
    },
  };
}
