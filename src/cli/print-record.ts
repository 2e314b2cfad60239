import type { CampaignResult, CampaignListener } from '../campaign/send-campaign.js';
import { formatReport, quietLine } from '../report/format-report.js';
import { terminalText, writeLine, type CliIo } from './io.js';
import { describeDecision } from './describe-decision.js';
import { startProgress } from './progress.js';

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  /** Each batch and retry decision on stderr, one line each. */
  verbose?: boolean;
}

/** What a campaign tells the terminal while it runs: a spinner for a person, warnings always, notes unless quiet. */
export async function terminalListener(io: CliIo, options: OutputOptions, shareRead?: () => number): Promise<CampaignListener & { stop(): void }> {
  const progress = await startProgress(io, options, shareRead);
  return {
    warn: (text) => writeLine(io.stderr, terminalText(`pushcast: ${text}`)),
    note: (text) => {
      if (!options.quiet && !options.json) writeLine(io.stderr, terminalText(`pushcast: ${text}`));
    },
    progress: (tally) => progress.update(tally),
    decision: (decision) => {
      progress.decided(decision);
      if (options.verbose) writeLine(io.stderr, terminalText(`pushcast: ${describeDecision(decision)}`));
    },
    stopping: (inFlight) => progress.stopping(inFlight),
    stop: () => progress.stop(),
  };
}

/** The record on stdout (one JSON object, one line, or the report for a person), why the exit code is what it is on stderr. */
export function printResult(result: CampaignResult, options: OutputOptions, io: CliIo): number {
  const { record } = result;
  if (options.json) writeLine(io.stdout, JSON.stringify(record));
  else if (options.quiet) writeLine(io.stdout, terminalText(quietLine(record)));
  else io.stdout.write(terminalText(formatReport(record)));
  for (const problem of result.problems) writeLine(io.stderr, terminalText(`pushcast: ${problem}`));
  return result.exitCode;
}
