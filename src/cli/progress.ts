import type { Tally } from '../domain/tally.js';
import type { Decision } from '../domain/decision.js';
import { isInteractive, wantsColour, writeLine, type CliIo } from './io.js';
import { ProgressLine } from './progress-line.js';

export interface Progress {
  update(tally: Tally): void;
  decided(decision: Decision): void;
  /** The campaign is stopping (Ctrl-C, a fatal answer): said at once, not after the drain. */
  stopping(inFlight: number): void;
  stop(): void;
}

const stoppingText = (inFlight: number) => (inFlight > 0 ? `stopping: letting ${inFlight} in flight finish` : 'stopping');
/** Repainting more often only costs CPU; less often, and a pause's countdown stutters. */
const repaintMs = 250;

/** Off a terminal: no spinner, only the line that says the campaign is stopping with work in flight. */
function plain(io: CliIo): Progress {
  return {
    update: () => undefined,
    decided: () => undefined,
    stopping(inFlight) {
      if (inFlight > 0) writeLine(io.stderr, `pushcast: ${stoppingText(inFlight)}`);
    },
    stop: () => undefined,
  };
}

/**
 * A spinner with the share of the audience read, the current rate, an ETA, the counts and any
 * pause, on stderr, for a person at a terminal only: nothing in CI, cron, --json or --verbose.
 * It repaints on a timer too, so a pause counts down instead of freezing the line.
 */
export async function startProgress(
  io: CliIo,
  options: { quiet?: boolean; json?: boolean; verbose?: boolean; feedOnStdout?: boolean },
  shareRead?: () => number,
): Promise<Progress> {
  // A terminal that reports no width (a pseudo-terminal nobody sized) makes ora's redraw loop forever.
  if (!isInteractive(io, options) || !io.stderr.columns || options.feedOnStdout) return plain(io);
  const { default: ora } = await import('ora');
  // discardStdin would put the terminal in raw mode, where Ctrl-C is a byte nobody reads, not SIGINT.
  // isEnabled: the decision is ours (FORCE_COLOR may ask for it where ora would not).
  const spinner = ora({ stream: io.stderr, text: 'starting…', discardStdin: false, isEnabled: true, ...(wantsColour(io) ? {} : { color: false as const }) }).start();
  const line = new ProgressLine(shareRead);
  let stopping = false;
  const paint = () => {
    if (!stopping) spinner.text = line.text(Date.now());
  };
  const timer = setInterval(paint, repaintMs).unref();
  return {
    update: (tally) => line.update(tally, Date.now()),
    decided: (decision) => line.decided(decision),
    stopping(inFlight) {
      stopping = true;
      spinner.text = stoppingText(inFlight);
      spinner.render();
    },
    stop() {
      clearInterval(timer);
      spinner.stop();
    },
  };
}
