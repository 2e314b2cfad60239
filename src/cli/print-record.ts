import type { CampaignResult, CampaignListener } from '../campaign/send-campaign.js';
import { formatReport, quietLine } from '../report/format-report.js';
import { terminalText, writeLine, writeNotice, type CliIo } from './io.js';
import { describeDecision } from './describe-decision.js';
import { startProgress } from './progress.js';

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  /** Each batch and retry decision on stderr, one line each. */
  verbose?: boolean;
  /** Standard output is a feed (--events -): no spinner over its lines. */
  feedOnStdout?: boolean;
}

/** What a campaign tells the terminal while it runs: a spinner for a person, warnings always, notes unless quiet. */
export async function terminalListener(io: CliIo, options: OutputOptions, shareRead?: () => number): Promise<CampaignListener & { stop(): void }> {
  const progress = await startProgress(io, options, shareRead);
  return {
    warn: (text) => writeNotice(io, text),
    note: (text) => {
      if (!options.quiet && !options.json) writeNotice(io, text);
    },
    progress: (tally) => progress.update(tally),
    decision: (decision) => {
      progress.decided(decision);
      if (options.verbose) writeNotice(io, describeDecision(decision));
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
  for (const problem of result.problems) writeNotice(io, problem);
  return result.exitCode;
}
