import { sendBroadcast, type BroadcastPlan } from '../campaign/broadcast-send.js';
import type { PushcastConfig } from '../config/config.js';
import type { CampaignRecord } from '../report/campaign-record.js';
import { loadConfig } from '../config/load-config.js';
import { InputError, throwIfInterrupted, UsageError } from '../errors.js';
import { campaignAnalyticsLabel } from '../providers/fcm/analytics-label.js';
import { createApnsBroadcaster } from '../providers/apns/apns-broadcast.js';
import { buildApnsBroadcast } from '../providers/apns/payload.js';
import { createFcmBroadcaster } from '../providers/fcm/fcm-broadcast.js';
import { parseCondition, parseTopic, type FcmBroadcastTarget } from '../providers/fcm/fcm-topic-target.js';
import { buildFcmBroadcast } from '../providers/fcm/payload.js';
import { writeNotice, type CliIo } from './io.js';
import { printResult } from './print-record.js';
import type { SendOptions } from './run-send.js';
import { parseLabelFlag, sendFlags } from './send-flags.js';
import { compileMessage } from './send-inputs.js';

/** Flags of `send` that choose or shape recipients one by one: none applies to a message for a topic's or a channel's subscribers. */
const perRecipientFlags: Array<[keyof SendOptions, string]> = [
  ['audience', '--audience'],
  ['token', '--token'],
  ['channel', '--channel'],
  ['where', '--where'],
  ['provider', '--provider'],
  ['dryRun', '--dry-run'],
  ['strict', '--strict'],
  ['at', '--at'],
  ['local', '--local'],
  ['quietHours', '--quiet-hours'],
  ['spread', '--spread'],
  ['wait', '--wait'],
  ['shard', '--shard'],
  ['failedOut', '--failed-out'],
  ['invalidOut', '--invalid-out'],
  ['html', '--html'],
  ['events', '--events'],
  ['changeMessage', '--change-message'],
  ['cap', '--cap'],
  ['variant', '--variant'],
  ['holdout', '--holdout'],
  ['capPerDevice', '--cap-per-device'],
];
/** FCM's own: an APNs broadcast has no analytics label. */
const fcmOnlyFlags: Array<[keyof SendOptions, string]> = [['label', '--label']];

/** The target of `send --topic`, `--condition` or `--apns-channel`: one request that reaches every subscriber. */
export type SendBroadcastTarget = FcmBroadcastTarget | { apnsChannel: string };

/** Apple's channel ids are base64: anything else could not even be a header. */
const channelIdPattern = /^[A-Za-z0-9+/=_-]+$/;

/** The target of `send --topic`, `--condition` or `--apns-channel`, checked before anything else is read. */
export function broadcastTarget(options: SendOptions): SendBroadcastTarget | undefined {
  const given = (
    [
      ['topic', '--topic'],
      ['condition', '--condition'],
      ['apnsChannel', '--apns-channel'],
    ] as const
  ).filter(([key]) => options[key] !== undefined);
  if (given.length === 0) return undefined;
  if (given.length > 1) throw new UsageError(`give one of ${given.map(([, flag]) => flag).join(' and ')}: a broadcast has one target`);
  const [key, flag] = given[0];
  const provider =
    key === 'apnsChannel' ? 'APNs sends one Live Activity update to every device subscribed to the channel' : 'FCM sends one message to every subscriber of the topic';
  for (const [option, name] of [...perRecipientFlags, ...(key === 'apnsChannel' ? fcmOnlyFlags : [])]) {
    const value = options[option];
    if (value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0)) {
      throw new UsageError(`${name} does not go with ${flag}: ${provider}, with no per-device step`);
    }
  }
  if (key === 'apnsChannel') {
    const id = options.apnsChannel!;
    if (!channelIdPattern.test(id))
      throw new UsageError(`--apns-channel takes a channel id as APNs issued it (base64, from pushcast apns channels create), not ${JSON.stringify(id)}`);
    return { apnsChannel: id };
  }
  return key === 'topic' ? { topic: parseTopic(options.topic!) } : { condition: parseCondition(options.condition!) };
}

/**
 * `pushcast send --topic NAME`, `--condition EXPR` or `--apns-channel ID`: one message for every
 * device subscribed to the topic (or whose topics meet the condition), or one Live Activity update
 * for every device subscribed to the APNs broadcast channel; the template rendered once, with no
 * per-recipient variables; sent at most once (campaign/broadcast-send.ts).
 */
export async function runBroadcast(
  target: SendBroadcastTarget,
  options: SendOptions,
  io: CliIo,
  given: { config?: PushcastConfig; /** Told the record, for --metrics-file. */ seen?: { record?: CampaignRecord } },
): Promise<number> {
  const givenLabel = parseLabelFlag(options.label);
  if (!options.message) throw new UsageError('--topic, --condition and --apns-channel send a --message FILE (a JSON message template)');
  const { config } = given.config ? { config: given.config } : await loadConfig({ file: options.config, cwd: io.cwd, env: io.env, flags: sendFlags(options), signal: io.signal });
  throwIfInterrupted(io.signal, 'while reading the configuration');
  const { template, messageLabel, messageFile } = await compileMessage(options, io);
  // One message for every device: no row to fill a placeholder from; those with a default take it.
  const needed = template.placeholders.required;
  if (needed.length > 0) {
    const names = needed.map((name) => `{{${name}}}`).join(', ');
    throw new InputError(
      `message ${messageLabel}: ${names} would differ per device, and a broadcast is rendered once for all: give ${needed.length === 1 ? 'it' : 'each'} a default ({{default name "…"}}) or send to an audience`,
    );
  }
  const rendered = template.render(Object.create(null) as Record<string, string>);
  if (!rendered.ok) throw new InputError(`message ${messageLabel}: ${rendered.detail}`);
  const message = { file: messageLabel, path: messageFile! };
  let plan: BroadcastPlan;
  if ('apnsChannel' in target) {
    // Checked before anything is sent: a channel takes a Live Activity update or end only.
    const built = buildApnsBroadcast(rendered.message);
    if (!built.ok) throw new InputError(`message ${messageLabel}: ${built.detail}`);
    plan = {
      provider: 'apns',
      target: { kind: 'apns-channel', value: target.apnsChannel },
      message,
      label: () => undefined,
      // Built again when sent: "now" in its dates is the moment the request leaves.
      open: () => {
        const sent = buildApnsBroadcast(rendered.message);
        return createApnsBroadcaster(config, target.apnsChannel, sent.ok ? sent.payload : built.payload);
      },
    };
  } else {
    const label = (campaign: string) => (givenLabel === false ? undefined : (givenLabel ?? campaignAnalyticsLabel(campaign)));
    const build = (fcmAnalyticsLabel: string | undefined) => {
      const built = buildFcmBroadcast(rendered.message, target, { fcmAnalyticsLabel });
      if (!built.ok) throw new InputError(`message ${messageLabel}: ${built.detail}`);
      return built.payload;
    };
    // Its size is checked before the campaign's id is known: a label of 50 characters at most changes little.
    build(givenLabel === false ? undefined : (givenLabel ?? 'x'.repeat(50)));
    plan = {
      provider: 'fcm',
      target: 'topic' in target ? { kind: 'topic', value: target.topic } : { kind: 'condition', value: target.condition },
      message,
      label,
      open: (fcmAnalyticsLabel) => createFcmBroadcaster(config, target, build(fcmAnalyticsLabel), { signal: io.signal }),
    };
  }
  const result = await sendBroadcast(plan, {
    config,
    cwd: io.cwd,
    ownProcess: io.ownProcess,
    campaign: options.campaign,
    journal: options.journal,
    resendUncertain: options.resendUncertain,
    outputs: { report: options.report },
    signal: io.signal,
    warn: (text) => writeNotice(io, text),
  });
  if (given.seen) given.seen.record = result.record;
  return printResult(result, options, io);
}
