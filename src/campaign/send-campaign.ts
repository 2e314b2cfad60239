import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { dirname, resolve } from 'node:path';
import type { PushcastConfig } from '../config/config.js';
import { defaultJournalDir } from '../config/defaults.js';
import { oneLine } from '../domain/quote-value.js';
import type { Tally } from '../domain/tally.js';
import type { CampaignOptions } from '../engine/campaign-options.js';
import { runCampaign } from '../engine/run-campaign.js';
import { inShard, shardLabel, type Shard } from '../engine/shard.js';
import type { Decision } from '../domain/decision.js';
import { ConfigError, describeFileError, InputError, throwIfInterrupted, unlessInterrupted, UsageError } from '../errors.js';
import { JournalWriter } from '../journal/journal.js';
import { journalPath } from '../journal/journal-files.js';
import { readJournal, type JournalState } from '../journal/read-journal.js';
import type { MessageIdentity } from '../journal/journal.js';
import { journalHistory, type RunSummary } from '../report/campaign-history.js';
import { ProviderSet } from '../providers/provider-set.js';
import type { DeviceQuery } from '../registry/device-query.js';
import type { DeviceRegistry } from '../registry/registry.js';
import { RegistryFeedback } from '../registry/feedback.js';
import { resolveUsers } from '../registry/resolve-users.js';
import { frequencyCap, type CapSettings } from './frequency-cap.js';
import { assignVariants, plannedVariants, VariantTally } from './variants.js';
import { buildRecord, RecordLists, type CampaignRecord } from '../report/campaign-record.js';
import { ReportFiles } from '../report/report-files.js';
import { SanityGuard } from '../report/sanity-guard.js';
import { Timeline } from '../report/timeline.js';
import { Schedule, type ScheduleSettings } from './schedule.js';
import { ApnsSplit } from '../report/apns-split.js';
import { EventsFeed } from '../report/events-feed.js';
import { htmlReport } from '../report/html-report.js';
import { messagePreview } from '../message/message-preview.js';
import { pushcastVersion } from '../version.js';
import { deriveCampaignId, messageDigest } from './campaign-id.js';
import { incrementsBadge } from './campaign-inputs.js';
import { checkBadge, checkPlaceholders, type CampaignInputs } from './campaign-inputs.js';
import { lockCampaign, type CampaignLock, type LockingProcess } from './campaign-lock.js';
import { checkOutputPaths, prepareJournalDir } from './check-output-paths.js';
import { decidePruning } from './prune-decision.js';
import { exitCodeFor, type CampaignVerdict } from './exit-code.js';
import { FailureLatch } from './failure-latch.js';
import { LatencyRecorder } from './latency.js';
import { campaignLimits, sendingThreads, shareOfRate } from './limits.js';
import { startMeasuring } from './measure-resources.js';
import type { Thresholds } from './thresholds.js';

/** Who hears what a campaign does while it runs: the CLI's spinner and messages, or nobody. */
export interface CampaignListener {
  /** Something a person should know even in quiet mode: a lock taken over, a list not written. */
  warn?(text: string): void;
  /** Something worth saying when someone is watching: a torn journal line skipped. */
  note?(text: string): void;
  progress?(tally: Tally): void;
  /** Each decision of the engine: a batch answered, a retry, a pause, a give-up. */
  decision?(decision: Decision): void;
  /** The campaign is stopping (Ctrl-C, a fatal answer), with this many recipients still in flight. */
  stopping?(inFlight: number): void;
}

export interface CampaignSettings {
  config: PushcastConfig;
  /** Files are resolved against it. */
  cwd: string;
  /** The process that runs the campaign, for its lock. */
  ownProcess: LockingProcess;
  /** `pushcast check`: FCM's validate_only, nothing delivered; providers with no such mode get format checks only. */
  validateOnly?: boolean;
  /** The campaign's id; derived from the audience and message contents when not given. */
  campaign?: string;
  /** Keep a journal, so a re-run resumes instead of sending again (default: yes). */
  journal?: boolean;
  /** Send this run's message though the campaign's earlier runs sent another (--change-message). */
  changeMessage?: boolean;
  resendUncertain?: boolean;
  /** --shared-rate: the rate is for all shards together; this one takes its share. */
  sharedRate?: boolean;
  shard?: Shard;
  thresholds?: Thresholds;
  /** Prune invalid tokens even when so many are invalid that a wrong sender is likelier. */
  trustInvalid?: boolean;
  /** Files to write, as the user named them. */
  outputs?: { report?: string; html?: string; invalidOut?: string; failedOut?: string };
  /** FCM's analytics label for every message (default: the campaign's id, analytics-label.ts); false: none. */
  analyticsLabel?: string | false;
  /** --events: where each recipient's line goes as it settles (report/events-feed.ts); the caller opens and ends it. */
  events?: Writable;
  /** The device registry: user-ID audiences, channels, and feedback of invalid tokens. */
  registry?: DeviceRegistry;
  /** Only the devices in this channel of a user audience ("*" or none: all). */
  channel?: string;
  /** Only the registry devices matching this query (--where); the record keeps it. */
  where?: DeviceQuery;
  /** --cap: skip recipients from the registry who got this many pushes from other campaigns within the window. */
  cap?: CapSettings;
  /** When recipients are due (--at, --local, --quiet-hours, --spread): each run sends those due now. Needs the journal. */
  schedule?: Omit<ScheduleSettings, 'anchor'>;
  /** The clock the schedule reads (tests move it; everything else keeps real time). */
  now?: () => number;
  /** --max-age: registry devices not seen for longer are skipped as stale (default 90; 0: never). */
  maxAgeDays?: number;
  /** Mark invalid tokens in the registry (default: yes, when there is one). */
  feedback?: boolean;
  signal?: AbortSignal;
  listener?: CampaignListener;
}

export interface CampaignResult extends CampaignVerdict {
  record: CampaignRecord;
}

/**
 * A whole campaign: checks the inputs, the output files and the credentials before anything is
 * sent, takes the campaign's lock, sends through the engine with the journal, writes the lists
 * and the report, and says what the exit code is and why. It touches no terminal.
 */
export async function sendCampaign(inputs: CampaignInputs, settings: CampaignSettings): Promise<CampaignResult> {
  const { config, cwd, outputs = {}, listener = {} } = settings;
  throwIfInterrupted(settings.signal, 'before sending');
  checkPlaceholders(inputs);
  checkBadge(inputs);
  checkOutputPaths(
    [
      { flag: '--report', path: outputs.report },
      { flag: '--html', path: outputs.html },
      { flag: '--invalid-out', path: outputs.invalidOut },
      { flag: '--failed-out', path: outputs.failedOut },
    ],
    cwd,
  );
  const threads = sendingThreads(config);
  const limits = campaignLimits(config, threads);
  const options = settings.sharedRate ? { ...limits, rate: shareOfRate(limits.rate, settings.shard?.count ?? 1) } : limits;
  const providers = new ProviderSet(config, settings.validateOnly ? 'validate-only' : 'send', { threads });
  let journal: CampaignOptions['journal'];
  let lock: CampaignLock | undefined;
  try {
    const message = inputs.messageFile ? { file: inputs.messageLabel, sha256: await messageDigest(inputs.messageFile, inputs.variants) } : undefined;
    const campaign = settings.campaign ?? (inputs.identity && inputs.messageFile ? await deriveCampaignId(inputs.identity, inputs.messageFile) : undefined);
    if (campaign !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(campaign)) throw new UsageError(`--campaign may use letters, digits, . _ and -, not "${campaign}"`);
    const { shard } = settings;
    const journalDir = config.journalDir ?? defaultJournalDir;
    const journalFile = campaign && settings.journal !== false && !settings.validateOnly ? journalPath(resolve(cwd, journalDir), campaign, shard) : undefined;
    if (journalFile && campaign) {
      prepareJournalDir(dirname(journalFile), journalDir);
      // Before anything else touches the journal: a second run of the campaign would send it all again.
      lock = await lockCampaign(journalFile, shard && shard.count > 1 ? `${campaign} (shard ${shardLabel(shard)})` : campaign, settings.ownProcess);
      if (lock.notice) listener.warn?.(lock.notice);
    }
    requireSomeProvider(providers, settings.validateOnly);
    const analyticsLabel = providers.labelMessages(campaign, settings.analyticsLabel);
    if (settings.schedule && !journalFile) {
      throw new UsageError('a scheduled campaign (--at, --local, --quiet-hours, --spread) keeps a journal of who was sent: it cannot run with --no-journal');
    }
    // What the campaign's earlier runs left: whom they settled, which message they sent, their history.
    let earlier: JournalState | undefined;
    let changedMessage = false;
    if (journalFile && campaign) {
      earlier = await readJournal(journalFile, settings.signal);
      changedMessage = messageChanged(campaign, earlier.message, message, Boolean(settings.changeMessage));
    }
    const history = earlier ? journalHistory(earlier.runs) : [];
    await unlessInterrupted(providers.verifyUsable(), settings.signal, 'while checking the credentials');
    // The run starts now, credentials checked: its journal line and its report say the same moment.
    const startedAt = new Date();
    let anchor: number | undefined;
    if (journalFile && campaign && earlier) {
      if (earlier.torn) listener.note?.(`${oneLine(journalFile)}: a line cut short by a crash was ignored`);
      anchor = earlier.anchor ?? (settings.now ?? Date.now)();
      journal = {
        writer: await JournalWriter.open(journalFile, {
          at: startedAt.toISOString(),
          campaign,
          shard: shardLabel(shard),
          version: pushcastVersion,
          ...(settings.schedule ? { anchor: new Date(anchor).toISOString() } : {}),
          ...(message ? { message } : {}),
          ...(changedMessage ? { changedMessage: true as const } : {}),
          ...(analyticsLabel ? { fcmLabel: analyticsLabel } : {}),
          ...(inputs.variants ? { ab: plannedVariants(inputs.variants) } : {}),
        }),
        prior: earlier.prior,
        resendUncertain: Boolean(settings.resendUncertain),
      };
    }

    const guard = new SanityGuard(config.apns?.environment);
    const apnsSplit = new ApnsSplit({ environment: config.apns?.environment, topic: config.apns?.topic });
    const lists = new RecordLists();
    const feed = settings.events && new EventsFeed(settings.events, campaign ?? 'one-off', (text) => listener.warn?.(text));
    const out = (file: string | undefined) => (file ? resolve(cwd, file) : undefined);
    const files = new ReportFiles({
      invalidOut: out(outputs.invalidOut),
      failedOut: out(outputs.failedOut),
      audience: { shape: inputs.audience.shape, header: inputs.audience.header, delimiter: inputs.audience.format?.delimiter, freeText: inputs.audience.freeText },
      groupOf: guard.heldBackGroup,
      variants: Boolean(inputs.variants),
    });
    const { registry } = settings;
    // Devices from the registry are claimed for the campaign, so that a token under two users, or
    // two shards, goes once. A run with no journal remembers nothing, and sends again when run
    // again: its claims are its own. A check delivers nothing: it claims nothing.
    const claims =
      registry && !settings.validateOnly
        ? { campaign: journal && campaign ? campaign : `one-off-${randomUUID()}`, shard: shardLabel(shard) ?? '1/1', incrementBadge: incrementsBadge(inputs) }
        : undefined;
    const feedback = registry && (settings.feedback !== false || claims) ? new RegistryFeedback(registry, guard.heldBackGroup, claims, settings.feedback !== false) : undefined;
    const registryFailure = new FailureLatch();
    const latency = new LatencyRecorder();
    const timeline = new Timeline(startedAt.getTime());
    const measure = startMeasuring();
    const schedule = settings.schedule && anchor !== undefined ? new Schedule({ ...settings.schedule, anchor }, settings.now ?? Date.now) : undefined;
    // The window counts back from the campaign's first claim, by any shard or run (before one, from
    // now), so that resumes and shards cap alike; what the journal settled is the journal's.
    const firstClaim = settings.cap && claims ? await registry!.firstClaimOf(claims.campaign) : undefined;
    const settled = journal && ((key: string) => journal!.prior.get(key) !== undefined);
    const cap = settings.cap && claims ? frequencyCap(settings.cap, claims.campaign, firstClaim ? Date.parse(firstClaim) : startedAt.getTime(), settled) : undefined;
    // An A/B campaign draws each recipient's variant from its id: every run and shard draws the same.
    const variantTally = inputs.variants && new VariantTally(inputs.variants);
    const audienceRows = inputs.variants
      ? assignVariants(inputs.audience.rows, inputs.variants, campaign ?? claims?.campaign ?? `one-off-${randomUUID()}`, inputs.audience.header, settled)
      : inputs.audience.rows;
    const rows = resolveUsers(audienceRows, registry, {
      filter: { channel: settings.channel, where: settings.where, maxAgeDays: settings.maxAgeDays },
      owns: shard && ((hash) => inShard(shard, hash)),
      claims,
      cap,
      claimDeviceRows: inputs.audience.lineIs === 'registry-device-id',
      onFailure: (error) => registryFailure.fail(error),
    });
    const tally = await runCampaign(rows, {
      ...options,
      countUnreached: true,
      stopOn: { reason: 'registry-failed', onFailure: (listener) => registryFailure.onFailure(listener) },
      schedule: schedule && ((recipient) => schedule.judge(recipient)),
      template: inputs.template,
      variants: inputs.variants && new Map(inputs.variants.variants.map((variant) => [variant.name, variant.template])),
      providers,
      signal: settings.signal,
      shard,
      journal,
      onFinal: (event) => {
        if (event.earlier && event.recipient) schedule?.settledEarlier(event.recipient);
        feedback?.onFinal(event);
        guard.observe(event);
        apnsSplit.onFinal(event);
        files.onFinal(event);
        lists.onFinal(event);
        feed?.onFinal(event);
        variantTally?.onFinal(event);
      },
      onProgress: listener.progress,
      onStopping: listener.stopping,
      onBatch: (ms, count) => latency.record(ms, count),
      onDecision: (decision) => {
        timeline.decided(decision);
        listener.decision?.(decision);
      },
    });

    const scheduled = schedule?.summary();
    if (scheduled && scheduled.deferred > 0 && tally.status === 'done') tally.status = 'scheduled';
    const percentiles = latency.percentiles();
    const resources = { ...measure(), ...(percentiles ? { latencyMs: percentiles } : {}) };
    const pruning = decidePruning(guard, Boolean(settings.trustInvalid));
    const { suspectFile } = await files.finish(pruning).catch((error: unknown) => {
      listener.warn?.(`the token lists were not all written: ${(error as Error).message}`);
      return { suspectFile: undefined };
    });
    const verdict = exitCodeFor(tally, pruning, settings.thresholds ?? {}, {
      journaled: journal !== undefined,
      failedOut: outputs.failedOut,
      lineIs: inputs.audience.lineIs,
    });
    const runTimeline = timeline.record();
    const finishedAt = new Date(startedAt.getTime() + resources.seconds * 1000).toISOString();
    const pauses = runTimeline.pauses.length + runTimeline.pausesNotListed;
    const thisRun: RunSummary = {
      startedAt: startedAt.toISOString(),
      finishedAt,
      seconds: Math.round(resources.seconds * 1000) / 1000,
      sends: tally.sends,
      retries: tally.retries,
      pauses,
      status: tally.status,
      exitCode: verdict.exitCode,
      ...(message ? { message } : {}),
      ...(changedMessage ? { changedMessage: true as const } : {}),
      ...(shard && shard.count > 1 ? { shard: shardLabel(shard) } : {}),
      ...(tally.sends > 0 ? { timeline: runTimeline } : {}),
    };
    const record = buildRecord({
      campaign: campaign ?? 'one-off',
      command: settings.validateOnly ? 'check' : 'send',
      lineIs: inputs.audience.lineIs,
      trustInvalid: settings.trustInvalid,
      shard: shardLabel(shard),
      tally,
      lists,
      suspects: pruning.suspects,
      resources,
      startedAt,
      audience: inputs.audience.path,
      where: settings.where?.text,
      cap: cap && { rule: cap.text, per: cap.per, since: cap.since },
      ab: variantTally?.record(),
      message: message && { ...message, preview: messagePreview(inputs.template.template) },
      registry: await feedback?.apply(pruning).catch((error: unknown) => {
        listener.warn?.(`the device registry was not told how the campaign went: ${(error as Error).message}`);
        return undefined;
      }),
      timeline: runTimeline,
      apns: apnsSplit.record(),
      fcm: analyticsLabel && tally.providers.fcm.targeted > 0 ? { analyticsLabel } : undefined,
      schedule: scheduled,
      history: [...history, thisRun],
      files: compactFiles({
        invalidOut: outputs.invalidOut,
        suspectOut: suspectFile && outputs.invalidOut?.replace(/(\.csv)?$/, '.suspect.csv'),
        failedOut: outputs.failedOut,
        journal: journal?.writer.path,
      }),
    });
    await journal?.writer.end(record, { status: tally.status, exitCode: verdict.exitCode, finishedAt, pauses, ...(thisRun.timeline ? { timeline: thisRun.timeline } : {}) });
    if (outputs.html) {
      await writeFile(resolve(cwd, outputs.html), htmlReport(record), { mode: 0o600 }).catch((error: unknown) => {
        listener.warn?.(`the HTML report was not written: ${describeFileError(outputs.html!, error)}`);
      });
    }
    if (outputs.report) {
      await writeFile(resolve(cwd, outputs.report), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 }).catch((error: unknown) => {
        listener.warn?.(`the report was not written: ${describeFileError(outputs.report!, error)}`);
      });
    }
    return { record, ...verdict };
  } finally {
    await journal?.writer.close();
    await providers.close();
    await lock?.release();
  }
}

/** A campaign no provider can send anything of stops before reading a row, with what to do. */
export function requireSomeProvider(providers: ProviderSet, validateOnly = false): void {
  if (providers.configuredNames.length > 0 || validateOnly) return;
  throw new ConfigError('no provider has credentials: set them in pushcast.config.json or the environment (see the README), or try the emulator: pushcast emulator');
}

/**
 * A campaign sends one message. A run whose message is not the one the campaign's earlier runs
 * sent stops before sending, unless told that the message changed (`--change-message`), which the
 * history then records. Returns whether it changed.
 */
function messageChanged(campaign: string, sent: MessageIdentity | undefined, now: MessageIdentity | undefined, changeMessage: boolean): boolean {
  if (!sent || !now || sent.sha256 === now.sha256) return false;
  if (changeMessage) return true;
  // The earlier message is named as the journal has it: on this line, whatever the journal holds.
  const named = (message: MessageIdentity) => `${oneLine(message.file)} (sha256 ${message.sha256.slice(0, 12)})`;
  throw new InputError(
    `campaign ${campaign} was sent with ${named(sent)} and this run's message is ${named(now)}, so nothing was sent: to send it as a campaign of its own, give a new --campaign name; to send it to the recipients ${campaign} has not reached yet, add --change-message`,
  );
}

function compactFiles(files: NonNullable<CampaignRecord['files']>): CampaignRecord['files'] {
  const present = Object.entries(files).filter(([, value]) => value !== undefined);
  return present.length > 0 ? Object.fromEntries(present) : undefined;
}
