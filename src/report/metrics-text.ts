import { finalKinds } from '../domain/outcome.js';
import { providerNames } from '../domain/recipient.js';
import type { CampaignRecord } from './campaign-record.js';

/** What the metrics file says of a run: its record when it got that far, and how the command ended. */
export interface RunMetrics {
  /** The campaign's id; when the command failed before knowing it, --campaign, else "unknown". */
  campaign: string;
  exitCode: number;
  /** When the command ended, ms since the epoch. */
  endedAt: number;
  /** Absent when the command failed before sending (a bad credential, a busy campaign). */
  record?: CampaignRecord;
}

/**
 * The last run of a campaign in Prometheus' text format (version 0.0.4), for node_exporter's
 * textfile collector: a cron campaign that failed, or reached nobody, can raise an alert
 * (`pushcast_last_run_success == 0`, or `time() - pushcast_last_run_timestamp_seconds` too large).
 * Gauges only: the file describes one run, and the next run replaces it. Samples carry no
 * timestamps, which the textfile collector refuses.
 */
export function metricsText(run: RunMetrics): string {
  const campaign = { campaign: run.campaign };
  const families: Family[] = [
    { name: 'pushcast_last_run_success', help: 'Whether the last run ended with exit code 0 (1) or not (0).', samples: [[campaign, run.exitCode === 0 ? 1 : 0]] },
    { name: 'pushcast_last_run_exit_code', help: "The last run's exit code (docs/report.md lists them).", samples: [[campaign, run.exitCode]] },
    { name: 'pushcast_last_run_timestamp_seconds', help: 'When the last run ended, in seconds since the Unix epoch.', samples: [[campaign, run.endedAt / 1000]] },
  ];
  const { record } = run;
  if (record) {
    // The record's history ends with this run; a record without one is of a single run.
    const thisRun = record.runs?.at(-1) ?? { seconds: record.durationSeconds, sends: record.sends, retries: record.retries };
    families.push(
      { name: 'pushcast_last_run_duration_seconds', help: 'How long the last run sent for.', samples: [[campaign, thisRun.seconds]] },
      { name: 'pushcast_last_run_sends', help: 'Requests the last run sent to the providers, retries included.', samples: [[campaign, thisRun.sends]] },
      { name: 'pushcast_last_run_retries', help: 'Requests the last run sent again.', samples: [[campaign, thisRun.retries]] },
      {
        name: 'pushcast_last_run_info',
        help: "The last run's status (done, stopped, interrupted, scheduled) and command, as labels.",
        samples: [[{ ...campaign, status: record.status, command: record.command }, 1]],
      },
      {
        name: 'pushcast_recipients',
        help: "The campaign's recipients by provider and outcome, all its runs so far, as its report counts them (provider none: rows that named no provider).",
        samples: [
          ...providerNames.flatMap((provider) => finalKinds.map((outcome): Sample => [{ ...campaign, provider, outcome }, record.providers[provider][outcome]])),
          [{ ...campaign, provider: 'none', outcome: 'skipped' }, record.unroutedSkipped],
        ],
      },
    );
  }
  return families.map(familyText).join('');
}

type Sample = [labels: Record<string, string>, value: number];
interface Family {
  name: string;
  help: string;
  samples: Sample[];
}

function familyText({ name, help, samples }: Family): string {
  const lines = [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} gauge`];
  for (const [labels, value] of samples) lines.push(`${name}{${labelsText(labels)}} ${valueText(value)}`);
  return `${lines.join('\n')}\n`;
}

/** Label values escaped as the format asks: backslash, double quote and line feed. */
function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

function valueText(value: number): string {
  return Number.isFinite(value) ? String(value) : 'NaN';
}
