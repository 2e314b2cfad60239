import type { Tally } from '../domain/tally.js';
import { isInteractive, writeLine, type CliIo } from './io.js';

export interface Progress {
  update(tally: Tally): void;
  /** The campaign is stopping (Ctrl-C, a fatal answer): said at once, not after the drain. */
  stopping(inFlight: number): void;
  stop(): void;
}

const stoppingText = (inFlight: number) => (inFlight > 0 ? `stopping: letting ${inFlight} in flight finish` : 'stopping');

/** Off a terminal: no spinner, only the line that says the campaign is stopping with work in flight. */
function plain(io: CliIo): Progress {
  return {
    update: () => undefined,
    stopping(inFlight) {
      if (inFlight > 0) writeLine(io.stderr, `pushcast: ${stoppingText(inFlight)}`);
    },
    stop: () => undefined,
  };
}

/** A spinner with live counters on stderr, for a person at a terminal only: nothing in CI, cron or --json. */
export async function startProgress(io: CliIo, options: { quiet?: boolean; json?: boolean }): Promise<Progress> {
  // A terminal that reports no width (a pseudo-terminal nobody sized) makes ora's redraw loop forever.
  if (!isInteractive(io, options) || !io.stderr.columns) return plain(io);
  const { default: ora } = await import('ora');
  // discardStdin would put the terminal in raw mode, where Ctrl-C is a byte nobody reads, not SIGINT.
  const spinner = ora({ stream: io.stderr, text: 'starting…', discardStdin: false }).start();
  const started = Date.now();
  let last = 0;
  let stopping = false;
  return {
    update(tally) {
      const now = Date.now();
      if (stopping || now - last < 100) return; // repainting more often only costs CPU
      last = now;
      const { targeted, accepted, invalid, failed } = tally.counts;
      const rate = Math.round(targeted / Math.max(0.001, (now - started) / 1000));
      spinner.text = `sent ${targeted} (${rate}/s): ${accepted} accepted, ${invalid} invalid, ${failed} failed, ${tally.retries} retries`;
    },
    stopping(inFlight) {
      stopping = true;
      spinner.text = stoppingText(inFlight);
      spinner.render();
    },
    stop() {
      spinner.stop();
    },
  };
}
