import { setTimeout as sleep } from 'node:timers/promises';
import { needsMoreVariables, registryDevices, registryInputs, type CampaignInputs } from '../campaign/campaign-inputs.js';
import type { CapSettings } from '../campaign/frequency-cap.js';
import type { VariantPlan } from '../campaign/variants.js';
import { openVariants, type VariantFlags } from './variant-flags.js';
import { parseFrequencyCap } from '../config/frequency-cap.js';
import { startMeasuring } from '../campaign/measure-resources.js';
import { planCampaign } from '../campaign/plan-campaign.js';
import { interruptedVerdict } from '../campaign/exit-code.js';
import { sendCampaign } from '../campaign/send-campaign.js';
import type { PushcastConfig } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import { ExitCode, PushcastError, throwIfInterrupted, UsageError } from '../errors.js';
import type { CampaignRecord } from '../report/campaign-record.js';
import { parseDeviceQuery, type DeviceQuery } from '../registry/device-query.js';
import { checkChannel, type DeviceRegistry } from '../registry/registry.js';
import { openRegistry, registryExists, registryTarget } from '../registry/open-registry.js';
import { terminalText, writeLine, writeNotice, type CliIo } from './io.js';
import { formatPlan } from './print-plan.js';
import { printResult, terminalListener } from './print-record.js';
import { compileMessage, openInputs, type InputOptions } from './send-inputs.js';
import { checkRateFlag, parseLabelFlag, parseMaxAge, parseSchedule, parseShardFlag, parseThresholds, sendFlags, type ScheduleFlags } from './send-flags.js';
import { scheduleClock } from './clock.js';
import { checkMetricsFile, openEvents, writeMetricsFile } from './run-outputs.js';
import { inShard } from '../engine/shard.js';
import { broadcastTarget, runBroadcast } from './run-broadcast.js';

export interface SendOptions extends InputOptions, ScheduleFlags, VariantFlags {
  dryRun?: boolean;
  strict?: boolean;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  maxAge?: string;
  /** --wait: stay up and send each recipient when due, instead of one run per cron call. */
  wait?: boolean;
  html?: string;
  config?: string;
  apnsTopic?: string;
  campaign?: string;
  journal?: boolean;
  journalDir?: string;
  resendUncertain?: boolean;
  sharedRate?: boolean;
  /** Send this message though the campaign's earlier runs sent another. */
  changeMessage?: boolean;
  shard?: string;
  rate?: string;
  concurrency?: string;
  workers?: string;
  requestTimeout?: string;
  stallTimeout?: string;
  maxInvalidRate?: string;
  maxFailed?: string;
  requireAllAccepted?: boolean;
  report?: string;
  invalidOut?: string;
  failedOut?: string;
  trustInvalid?: boolean;
  registry?: string;
  channel?: string;
  /** --where QUERY: the registry devices matching it (Parse's query language). */
  where?: string;
  /** --cap N/WINDOW (also the config's `cap`); false: --no-cap. */
  cap?: string | false;
  /** --cap-per-device: count each device's pushes, not its user's. */
  capPerDevice?: boolean;
  /** --no-feedback: leave the device registry as it is. */
  feedback?: boolean;
  /** --label L: FCM's analytics label (default: the campaign's id); --no-label: none. */
  label?: string | false;
  /** --events FILE|-: a JSON line per recipient as it settles. */
  events?: string;
  /** --metrics-file FILE: the run's counts for node_exporter's textfile collector. */
  metricsFile?: string;
  /** --topic NAME / --condition EXPR: one FCM message for a topic's subscribers (run-broadcast.ts). */
  topic?: string;
  condition?: string;
  /** --apns-channel ID: one Live Activity update for an APNs broadcast channel's subscribers (run-broadcast.ts). */
  apnsChannel?: string;
}

/**
 * `pushcast send`: reads the flags, opens the inputs, plans or sends the campaign, prints what
 * happened. `pushcast demo` runs it too, `given` the config of its emulator.
 */
export async function runSend(options: SendOptions, io: CliIo, given?: { config?: PushcastConfig }): Promise<number> {
  const metricsFile = options.dryRun ? undefined : options.metricsFile;
  if (metricsFile === undefined) return sendOrPlan(options, io, given, {});
  checkMetricsFile(metricsFile, io);
  const seen: { record?: CampaignRecord } = {};
  let exitCode: number = ExitCode.fatal;
  try {
    exitCode = await sendOrPlan(options, io, given, seen);
    return exitCode;
  } catch (error) {
    // Whatever stopped the command, the metrics file says it did: a cron job's alert reads it.
    exitCode = error instanceof PushcastError ? error.exitCode : ExitCode.fatal;
    throw error;
  } finally {
    const campaign = seen.record?.campaign ?? options.campaign ?? 'unknown';
    await writeMetricsFile(metricsFile, { campaign, exitCode, endedAt: Date.now(), record: seen.record }, io);
  }
}

/** `seen.record`: the record of the last run sent, once there is one. */
async function sendOrPlan(options: SendOptions, io: CliIo, given: { config?: PushcastConfig } | undefined, seen: { record?: CampaignRecord }): Promise<number> {
  const broadcast = broadcastTarget(options);
  if (broadcast) return runBroadcast(broadcast, options, io, { ...given, seen });
  // A flag's mistake is the command line's (exit 1), said before the config is read.
  const capFlag = typeof options.cap === 'string' ? parseFrequencyCap(options.cap) : undefined;
  if (typeof capFlag === 'string') throw new UsageError(`--cap: ${capFlag}`);
  const { config, file: configFile } = given?.config
    ? { config: given.config, file: undefined }
    : await loadConfig({ file: options.config, cwd: io.cwd, env: io.env, flags: sendFlags(options), signal: io.signal });
  throwIfInterrupted(io.signal, 'while reading the configuration');
  const shard = parseShardFlag(options.shard);
  const thresholds = parseThresholds(options);
  checkRateFlag(options.rate);
  const analyticsLabel = parseLabelFlag(options.label);
  const registryAt = registryTarget(config.registry, io.cwd, io.env);
  const channel = options.channel === undefined ? undefined : options.channel === '*' ? '*' : checkChannel(options.channel);
  const maxAgeDays = parseMaxAge(options.maxAge);
  const schedule = parseSchedule(options);
  if (options.wait && !schedule) throw new UsageError('--wait waits for recipients due later: give --at, --local, --quiet-hours or --spread');
  const now = scheduleClock(io);
  let registry: DeviceRegistry | undefined;
  try {
    // An A/B campaign opens as one with its first variant's message; the others join it after.
    const variants = await openVariants(options, io.cwd);
    const messageOptions = variants ? { ...options, message: options.variant![0] } : options;
    let inputs: CampaignInputs;
    let where: DeviceQuery | undefined;
    let attributes: string[] | undefined;
    const attributeNames = async () => (attributes ??= (await registry?.attributeNames()) ?? []);
    const readWhere = async () => (options.where === undefined ? undefined : parseDeviceQuery(options.where, { attributes: await attributeNames(), now: new Date(now()) }));
    if ((channel !== undefined || options.where !== undefined) && !options.audience) {
      registry = await openRegistry(registryAt, { migrate: true, notice: (text) => writeNotice(io, text) });
      where = await readWhere();
      inputs = registryInputs({ channel, where }, registry, await compileMessage(messageOptions, io), maxAgeDays);
    } else inputs = await openInputs({ ...messageOptions, owns: shard && ((hash) => inShard(shard, hash)) }, io);
    if (variants) useVariants(inputs, variants);
    if (options.where !== undefined && inputs.audience.shape !== 'users' && inputs.audience.lineIs !== 'registry-device-id') {
      throw new UsageError(
        `--where chooses among the registry's devices: give it alone, with --channel, or with a user-ID audience, not with ${inputs.audience.path}, a list of tokens`,
      );
    }
    // The same users in another channel, or under another query, are another campaign.
    if (channel !== undefined && inputs.identity) inputs.identity = { ...inputs.identity, channel };
    // Needed by a user-ID audience, a channel or a query; for feedback, used when one exists. A dry run creates none.
    const needed = inputs.audience.shape === 'users' || channel !== undefined || options.where !== undefined;
    if (!registry && (needed || options.feedback !== false) && (registryExists(registryAt) || (needed && !options.dryRun))) {
      registry = await openRegistry(registryAt, { migrate: !options.dryRun, notice: (text) => writeNotice(io, text) });
    }
    if (options.where !== undefined && !where) where = await readWhere();
    if (where && inputs.identity) inputs.identity = { ...inputs.identity, where: where.canonical };
    const cap = capSettings(config.cap, options, inputs, io);
    // A template may name the registry's attributes ({{plan}}): read their names only when a placeholder needs them.
    if (registry && registryDevices(inputs) && needsMoreVariables(inputs)) inputs.registryAttributes = await attributeNames();
    if (options.audience === '-' && options.strict && !options.dryRun) {
      throw new UsageError('--strict reads the audience twice, so it cannot read standard input: give a file');
    }

    if (options.dryRun || options.strict) {
      const measure = startMeasuring();
      const { plan, exitCode, problems } = await planCampaign(inputs, {
        config,
        configFile,
        shard,
        registry,
        channel,
        where,
        cap,
        campaign: options.campaign,
        maxAgeDays,
        strict: options.strict,
        signal: io.signal,
      });
      throwIfInterrupted(io.signal, options.dryRun ? 'while planning the campaign' : 'while --strict checked the audience');
      if (options.dryRun) {
        if (options.json) writeLine(io.stdout, JSON.stringify({ dryRun: true, message: inputs.messageLabel, ...plan, resources: measure() }));
        else io.stdout.write(terminalText(formatPlan(plan, { quiet: options.quiet, messagePath: inputs.messageLabel })));
      }
      for (const problem of problems) writeNotice(io, problem);
      if (options.dryRun || problems.length > 0) return exitCode;
      inputs.audience = await inputs.reopen(); // the strict check read the file: read it again to send
    }

    const events = openEvents(options.events, options.json, io);
    // The feed has standard output: the summary and the spinner go to standard error.
    const shown = events?.toStdout ? { ...io, stdout: io.stderr } : io;
    const listener = await terminalListener(shown, { ...options, feedOnStdout: events?.toStdout }, inputs.audience.shareRead);
    try {
      const run = (audience: CampaignInputs) =>
        sendCampaign(audience, {
          config,
          cwd: io.cwd,
          ownProcess: io.ownProcess,
          campaign: options.campaign,
          journal: options.journal,
          changeMessage: options.changeMessage,
          resendUncertain: options.resendUncertain,
          sharedRate: options.sharedRate,
          shard,
          thresholds,
          trustInvalid: options.trustInvalid,
          outputs: { report: options.report, html: options.html, invalidOut: options.invalidOut, failedOut: options.failedOut },
          events: events?.out,
          analyticsLabel,
          registry,
          channel,
          where,
          cap,
          maxAgeDays,
          feedback: options.feedback,
          signal: io.signal,
          listener,
          // --wait holds the recipients due within a minute and sends each at its moment.
          schedule: schedule && options.wait ? { ...schedule, holdMs: 60_000 } : schedule,
          now,
        });
      let result = await run(inputs);
      seen.record = result.record;
      // --wait: sleep until the next recipient is due, then a fresh run over the audience; the
      // journal, read anew each time, is the memory of who was sent. Killed, a re-run resumes.
      while (options.wait && result.record.status === 'scheduled' && result.record.schedule?.nextDueAt) {
        const due = Date.parse(result.record.schedule.nextDueAt);
        if (!options.quiet && !options.json)
          writeLine(io.stderr, `pushcast: ${result.record.counts.targeted} handled so far; waiting for the next recipient, due at ${result.record.schedule.nextDueAt}`);
        if (!(await sleepUntil(due, now, io.signal))) {
          // Everything due was sent; the journal knows who is left: a re-run waits for them again.
          const waiting = `while waiting for the next recipient (due at ${result.record.schedule.nextDueAt})`;
          result = { record: { ...result.record, status: 'interrupted' }, ...interruptedVerdict(waiting) };
          seen.record = result.record;
          break;
        }
        result = await run({ ...inputs, audience: await inputs.reopen() });
        seen.record = result.record;
      }
      listener.stop(); // before the report is printed under the spinner
      await events?.end();
      return printResult(result, options, shown);
    } finally {
      listener.stop();
      await events?.end();
    }
  } finally {
    await registry?.close();
  }
}

/** Makes the campaign an A/B one: its variants, its name for people, and the split in its identity. */
function useVariants(inputs: CampaignInputs, variants: VariantPlan): void {
  inputs.variants = variants;
  inputs.messageLabel = variants.variants.map((variant) => variant.messageLabel).join(' + ');
  if (inputs.identity) inputs.identity = { ...inputs.identity, variants: { files: variants.variants.map((variant) => variant.messageFile), spec: variants.spec } };
}

/**
 * The frequency cap a send applies: --cap, else the config's, unless --no-cap. It counts what the
 * registry knows was sent, so it applies to audiences from the registry; given on the command line
 * for a list of tokens it is refused, and the config's is said not to apply.
 */
function capSettings(configured: string | undefined, options: SendOptions, inputs: CampaignInputs, io: CliIo): CapSettings | undefined {
  if (options.cap === false || configured === undefined) return undefined;
  const rule = parseFrequencyCap(configured);
  if (typeof rule === 'string') throw new UsageError(`--cap: ${rule}`); // the config's was checked as it loaded
  if (!registryDevices(inputs)) {
    if (typeof options.cap === 'string') {
      throw new UsageError(`--cap counts the pushes the device registry knows of: send to user IDs, a --channel or --where, not ${inputs.audience.path}, a list of tokens`);
    }
    if (!options.quiet) writeNotice(io, `the configured cap (${rule.text}) does not apply to ${inputs.audience.path}, a list of tokens: the registry knows nothing sent to them`);
    return undefined;
  }
  return { rule, per: options.capPerDevice ? 'device' : 'user' };
}

/** Sleeps until the clock shows `due` (at least a moment, at most a minute at a time); false when interrupted. */
async function sleepUntil(due: number, now: () => number, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted && now() < due) {
    await sleep(Math.min(60_000, Math.max(50, due - now())), undefined, { signal }).catch(() => undefined);
  }
  return !signal.aborted;
}
