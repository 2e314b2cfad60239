import type { Tally } from '../domain/tally.js';
import { ExitCode } from '../errors.js';
import type { Suspect } from '../report/sanity-guard.js';
import { describeUnreached } from '../report/campaign-record.js';
import type { LineIs } from '../domain/recipient.js';
import { crossedThresholds, type Thresholds } from './thresholds.js';

/** How a campaign ended for the shell: its exit code, and each reason for it in words. */
export interface CampaignVerdict {
  exitCode: ExitCode;
  problems: string[];
}

/** How a run's recipients it did not send get sent: by the same command (its journal), by the --failed-out file, or only by sending everyone again. */
export interface Resumable {
  journaled: boolean;
  failedOut?: string;
  lineIs?: LineIs;
}

/** What to do about the recipients a stopped run did not send, in words. */
export function resumeHint(resume: Resumable): string {
  if (resume.journaled) return 'run the same command again to resume';
  if (resume.failedOut) return `those not sent are in ${resume.failedOut}: send that file (this run kept no journal, so running it again sends to everyone again)`;
  return 'this run kept no journal, so running it again sends to everyone again (give --failed-out FILE to have those not sent listed)';
}

/**
 * Interrupted: 130, and how to resume. Stopped by a provider, the configuration or the disk, or
 * a web push service that refused the sender: 2. A threshold crossed, a suspect share of invalid
 * tokens, or nothing got through: 3. Otherwise 0. A run that stopped early says which lines it
 * never reached.
 */
export function exitCodeFor(tally: Tally, pruning: { suspects: Suspect[]; trustInvalid: boolean }, thresholds: Thresholds, resume: Resumable): CampaignVerdict {
  // One line a stop, for a cron log: what stopped it, and what it left unsent and how to send that.
  const unsent = tally.unreached ? `; ${describeUnreached(tally.unreached, resume.lineIs)}` : '';
  if (tally.status === 'interrupted') return { exitCode: ExitCode.interrupted, problems: [`interrupted${unsent}; ${resumeHint(resume)}`] };
  if (tally.status === 'stopped') {
    const fatal = tally.fatal;
    const problem = fatal ? `stopped${fatal.provider ? ` by ${fatal.provider}` : ''} (${fatal.reason}): ${fatal.fix}` : 'stopped: a provider cannot be used';
    return { exitCode: ExitCode.fatal, problems: [`${problem}${unsent}${unsent && !resume.journaled ? `: ${resumeHint(resume)}` : ''}`] };
  }
  if (tally.halted.length > 0) {
    return { exitCode: ExitCode.fatal, problems: tally.halted.map((halt) => `${halt.provider} to ${halt.scope} stopped (${halt.reason}): ${halt.fix}`) };
  }
  const crossed = crossedThresholds(tally, thresholds);
  if (!pruning.trustInvalid) crossed.push(...pruning.suspects.map((suspect) => suspect.note));
  return { exitCode: crossed.length > 0 ? ExitCode.threshold : ExitCode.ok, problems: crossed };
}

/** Interrupted (Ctrl-C, SIGTERM) while waiting for recipients due later (--wait): 130; the journal knows who is left. */
export function interruptedVerdict(when: string): CampaignVerdict {
  return { exitCode: ExitCode.interrupted, problems: [`interrupted ${when}; ${resumeHint({ journaled: true })}`] };
}
