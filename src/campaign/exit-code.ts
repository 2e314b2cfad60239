import type { Tally } from '../domain/tally.js';
import { ExitCode } from '../errors.js';
import type { Suspect } from '../report/sanity-guard.js';
import { crossedThresholds, type Thresholds } from './thresholds.js';

/** How a campaign ended for the shell: its exit code, and each reason for it in words. */
export interface CampaignVerdict {
  exitCode: ExitCode;
  problems: string[];
}

/**
 * Interrupted: 130, run again to resume. Stopped by a provider, the configuration or the disk, or
 * a web push service that refused the sender: 2. A threshold crossed, a suspect share of invalid
 * tokens, or nothing got through: 3. Otherwise 0.
 */
export function exitCodeFor(tally: Tally, suspects: Suspect[], thresholds: Thresholds, trustInvalid: boolean): CampaignVerdict {
  if (tally.status === 'interrupted') return interruptedVerdict();
  if (tally.status === 'stopped') {
    const fatal = tally.fatal;
    const problem = fatal ? `stopped${fatal.provider ? ` by ${fatal.provider}` : ''} (${fatal.reason}): ${fatal.fix}` : 'stopped: a provider cannot be used';
    return { exitCode: ExitCode.fatal, problems: [problem] };
  }
  if (tally.halted.length > 0) {
    return { exitCode: ExitCode.fatal, problems: tally.halted.map((halt) => `${halt.provider} to ${halt.scope} stopped (${halt.reason}): ${halt.fix}`) };
  }
  const crossed = crossedThresholds(tally, thresholds);
  if (!trustInvalid) crossed.push(...suspects.map((suspect) => suspect.note));
  return { exitCode: crossed.length > 0 ? ExitCode.threshold : ExitCode.ok, problems: crossed };
}

/** Interrupted (Ctrl-C, SIGTERM): 130, and how to go on. */
export function interruptedVerdict(when = ''): CampaignVerdict {
  return { exitCode: ExitCode.interrupted, problems: [`interrupted${when ? ` ${when}` : ''}; run the same command again to resume`] };
}
