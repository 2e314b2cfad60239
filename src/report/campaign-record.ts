import type { VariantsRecord } from '../domain/ab-record.js';
import type { FinalEvent } from '../domain/outcome.js';
import type { CampaignStatus, Tally } from '../domain/tally.js';
import { providerNames, type LineIs, type ProviderName } from '../domain/recipient.js';
import { pushcastVersion } from '../version.js';
import type { Suspect } from './sanity-guard.js';
import type { TimelineRecord } from './timeline.js';
import type { ApnsSplitRecord } from './apns-split.js';
import type { ScheduleRecord } from '../domain/schedule-record.js';
import type { MessagePreview } from '../message/message-preview.js';
import { campaignMessages, campaignOverall, listedRuns, type CampaignMessage, type CampaignOverall, type RunSummary } from './campaign-history.js';

/** What a run cost this process: reported with every plan and campaign, and read by the benchmarks. */
export interface ResourceUse {
  seconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  /** Per-message latency in ms, handed to the client library until answered (sends only). */
  latencyMs?: { p50: number; p99: number };
}

/** Bumped when a field changes meaning or goes away; new fields may appear within a version. */
export const reportSchemaVersion = 1;
/** The record lists the first this many rows of each kind (errors, uncertain), and counts the rest. */
export const listedLimit = 1000;

/**
 * A campaign's record, in the spirit of a push service's history entry: what `--json` prints and
 * `--report` writes. Documented field by field in schema/report-v1.schema.json. No secrets, no tokens.
 */
/** The tally's counts, as they are; `sends` are the requests this run made, retries included. */
type TallyCounts = Pick<Tally, 'counts' | 'providers' | 'invalidByReason' | 'rejectedByReason' | 'failedByReason' | 'uncertainByReason' | 'sends' | 'retries'>;

export interface CampaignRecord extends TallyCounts {
  schemaVersion: typeof reportSchemaVersion;
  pushcast: string;
  campaign: string;
  /** `check`: FCM validated the tokens (validate_only) and nothing was delivered; `accepted` means valid. */
  command: 'send' | 'check';
  shard?: string;
  status: CampaignStatus;
  audience?: string;
  /** The --where query that chose the registry's devices, as given (LeanCloud's push history keeps its `where` too). */
  where?: string;
  /** The frequency cap this run applied (--cap): the rule, whose pushes it counted, and since when. Those over it are skipped as `capped`. */
  cap?: { rule: string; per: 'user' | 'device'; since: string };
  /** An A/B campaign (--variant): each variant's message, share and counts (of devices), and the holdout's share and recipients. */
  ab?: VariantsRecord;
  /** The message the recipients got: that of the latest run that sent anything; its text in each language when it is this run's. */
  message?: { file: string; sha256?: string; preview?: MessagePreview[] };
  /** Every message the campaign sent, when there was more than one (--change-message), with its sends. */
  messages?: CampaignMessage[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** `sends` per second of the run. */
  sendsPerSecond: number;
  /** Devices targeted: not all of them will get it. */
  devices: number;
  /** Devices the providers accepted the message for: not a delivery receipt. */
  successes: number;
  invalidTokens: number;
  /** Invalid tokens held back from the prune list as suspect (the sanity guard); 0 with --trust-invalid. */
  invalidHeldBack: number;
  /** Skipped rows that name no provider (so in no provider's counts): the per-provider skipped add up to the total with them. */
  unroutedSkipped: number;
  skippedByReason: Record<string, number>;
  suspect: Suspect[];
  fatal?: Tally['fatal'];
  /** Web push services that refused the sender for every subscription; the rest of the campaign went on. */
  halted?: Tally['halted'];
  /** A stopped run's rows it never reached (counted as skipped `not-sent`): how many, and the first and last line. */
  unreached?: Tally['unreached'];
  /** What `line` means in `errors` and `uncertain`. */
  lineIs: LineIs;
  /** Rows that were skipped, rejected or failed, with their line: the first 1000. */
  errors: Array<{ line: number; provider?: ProviderName; kind: string; reason?: string; detail?: string }>;
  errorsNotListed: number;
  /** Lines of recipients that may or may not have been sent, and why: the first 1000. */
  uncertain: Array<{ line: number; provider?: ProviderName; reason?: string; detail?: string }>;
  uncertainNotListed: number;
  files?: { invalidOut?: string; suspectOut?: string; failedOut?: string; journal?: string };
  /** A scheduled campaign's run: how many were due, deferred (sent by a later run), missed their window or had no time zone, and when the next is due. */
  schedule?: ScheduleRecord;
  /** APNs counts by environment and by topic (app); absent when nothing went to APNs. */
  apns?: ApnsSplitRecord;
  /** The analytics label every FCM message carried: FCM's delivery data is kept per label. Absent when none did. */
  fcm?: { analyticsLabel: string };
  /** A send to many devices in one request (an FCM topic or condition): its outcome is the request's, none per device; the counts stay 0. */
  broadcast?: BroadcastRecord;
  /** Sends and retries over time, and the pauses: none for a run that died (its journal does not keep them). */
  timeline?: TimelineRecord;
  /** What the device registry was told: tokens marked invalid, and invalid answers held back. */
  registry?: { file: string; marked: number; heldBack: number };
  resources: ResourceUse;
  /**
   * Every run of the campaign, this one last (the first and the latest, `listedRunsLimit` in all):
   * when each started and ended, what it sent, its pauses and exit code. The counts above are the
   * campaign's; `startedAt`, `durationSeconds`, `sends` and `retries` above are this run's.
   */
  runs?: RunSummary[];
  runsNotListed?: number;
  /** The campaign as a whole, over every run: when it started and last ran, time sending, sends. */
  overall?: CampaignOverall;
}

/** The record's section of a send that reached many devices with one request (schema/report-v1.schema.json, `broadcast`). */
export interface BroadcastRecord {
  provider: ProviderName;
  /** Where it went: an FCM topic, an FCM condition over topics, or an APNs broadcast channel. */
  target: { kind: 'topic' | 'condition' | 'apns-channel'; value: string };
  /** Requests this run made: 1, or 0 when an earlier run sent it (or may have). */
  requests: number;
  /** The request's outcome: the provider says nothing per device. */
  outcome: 'accepted' | 'refused' | 'not-sent' | 'uncertain';
  /** Whether the outcome is this run's, or an earlier run's that this one did not repeat. */
  by: 'this-run' | 'earlier-run';
  /** The provider's id of the message (FCM: projects/…/messages/…), when accepted. */
  messageId?: string;
  /** When the request went. */
  sentAt?: string;
  reason?: string;
  detail?: string;
  /** Always false: the provider answers once for every device. */
  perDeviceOutcome: false;
  note: string;
}

/** What a row's `line` is called in a report: a line of the file, a registry device (a channel send), or the one --token. */
export function lineNoun(lineIs: LineIs | undefined): string {
  return lineIs === 'registry-device-id' ? 'registry device' : lineIs === 'token-option' ? '--token' : 'line';
}

/** "lines 4 to 250000 (246000 recipients) were not reached": what a stopped run left unsent, where. */
export function describeUnreached(unreached: NonNullable<Tally['unreached']>, lineIs: LineIs | undefined): string {
  const noun = lineNoun(lineIs);
  const where = unreached.fromLine === unreached.toLine ? `${noun} ${unreached.fromLine}` : `${noun}s ${unreached.fromLine} to ${unreached.toLine}`;
  return `${where} (${unreached.rows} recipient${unreached.rows === 1 ? '' : 's'}) were not reached before the run stopped`;
}

/** Collects what the record lists line by line while the campaign runs. */
export class RecordLists {
  readonly errors: CampaignRecord['errors'] = [];
  readonly uncertain: CampaignRecord['uncertain'] = [];
  errorsNotListed = 0;
  uncertainNotListed = 0;

  onFinal(event: FinalEvent): void {
    if (event.unreached) return; // summed up in `unreached`: a stop at line 4 of a million must not list them
    if (event.kind === 'uncertain') {
      if (this.uncertain.length < listedLimit) this.uncertain.push({ line: event.line, provider: event.provider, reason: event.reason, detail: event.detail });
      else this.uncertainNotListed++;
    } else if (event.kind === 'skipped' || event.kind === 'rejected' || event.kind === 'failed') {
      if (this.errors.length < listedLimit) this.errors.push({ line: event.line, provider: event.provider, kind: event.kind, reason: event.reason, detail: event.detail });
      else this.errorsNotListed++;
    }
  }
}

export function buildRecord(input: {
  campaign: string;
  command?: CampaignRecord['command'];
  lineIs?: LineIs;
  /** The sanity guard's suspects are pruned anyway (--trust-invalid). */
  trustInvalid?: boolean;
  shard?: string;
  tally: Tally;
  lists: RecordLists;
  suspects: Suspect[];
  resources: ResourceUse;
  startedAt: Date;
  audience?: string;
  where?: string;
  cap?: CampaignRecord['cap'];
  ab?: CampaignRecord['ab'];
  message?: CampaignRecord['message'];
  files?: CampaignRecord['files'];
  registry?: CampaignRecord['registry'];
  timeline?: TimelineRecord;
  apns?: ApnsSplitRecord;
  fcm?: CampaignRecord['fcm'];
  broadcast?: BroadcastRecord;
  schedule?: ScheduleRecord;
  /** Every run of the campaign, this one last. */
  history?: RunSummary[];
}): CampaignRecord {
  const { tally, resources } = input;
  const history = input.history && input.history.length > 0 ? { ...listedRuns(input.history), overall: campaignOverall(input.history) } : undefined;
  const { message: got, messages } = input.history ? campaignMessages(input.history, input.message) : { message: input.message, messages: undefined };
  // The text is known of the message given now: shown only if that is the one the recipients got.
  const message = got && input.message?.preview && got.sha256 === input.message.sha256 ? { ...got, preview: input.message.preview } : got;
  return {
    schemaVersion: reportSchemaVersion,
    pushcast: pushcastVersion,
    campaign: input.campaign,
    command: input.command ?? 'send',
    ...(input.shard ? { shard: input.shard } : {}),
    status: tally.status,
    ...(input.audience ? { audience: input.audience } : {}),
    ...(input.where ? { where: input.where } : {}),
    ...(input.cap ? { cap: input.cap } : {}),
    ...(input.ab ? { ab: input.ab } : {}),
    ...(message ? { message } : {}),
    ...(messages ? { messages } : {}),
    startedAt: input.startedAt.toISOString(),
    finishedAt: new Date(input.startedAt.getTime() + resources.seconds * 1000).toISOString(),
    durationSeconds: round(resources.seconds),
    sends: tally.sends,
    sendsPerSecond: resources.seconds > 0 ? Math.round(tally.sends / resources.seconds) : tally.sends,
    devices: tally.counts.targeted,
    successes: tally.counts.accepted,
    invalidTokens: tally.counts.invalid,
    invalidHeldBack: input.trustInvalid ? 0 : input.suspects.reduce((sum, suspect) => sum + suspect.invalid, 0),
    unroutedSkipped: tally.counts.skipped - providerNames.reduce((sum, name) => sum + tally.providers[name].skipped, 0),
    counts: tally.counts,
    providers: tally.providers,
    invalidByReason: tally.invalidByReason,
    rejectedByReason: tally.rejectedByReason,
    failedByReason: tally.failedByReason,
    uncertainByReason: tally.uncertainByReason,
    skippedByReason: tally.skippedByReason as Record<string, number>,
    retries: tally.retries,
    suspect: input.suspects,
    lineIs: input.lineIs ?? 'audience-line',
    ...(tally.fatal ? { fatal: tally.fatal } : {}),
    ...(tally.halted.length > 0 ? { halted: tally.halted } : {}),
    ...(tally.unreached ? { unreached: tally.unreached } : {}),
    errors: input.lists.errors,
    errorsNotListed: input.lists.errorsNotListed,
    uncertain: input.lists.uncertain,
    uncertainNotListed: input.lists.uncertainNotListed,
    ...(input.files ? { files: input.files } : {}),
    ...(input.registry ? { registry: input.registry } : {}),
    ...(input.apns ? { apns: input.apns } : {}),
    ...(input.fcm ? { fcm: input.fcm } : {}),
    ...(input.broadcast ? { broadcast: input.broadcast } : {}),
    ...(input.schedule ? { schedule: input.schedule } : {}),
    ...(input.timeline ? { timeline: input.timeline } : {}),
    resources: { ...resources, seconds: round(resources.seconds), cpuSeconds: round(resources.cpuSeconds) },
    ...(history ? { runs: history.runs, runsNotListed: history.runsNotListed, overall: history.overall } : {}),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
