import { sendBroadcast } from '../campaign/broadcast-send.js';
import type { PushcastConfig } from '../config/config.js';
import type { CampaignRecord } from '../report/campaign-record.js';
import { loadConfig } from '../config/load-config.js';
import { InputError, throwIfInterrupted, UsageError } from '../errors.js';
import { campaignAnalyticsLabel } from '../providers/fcm/analytics-label.js';
import { createFcmBroadcaster } from '../providers/fcm/fcm-broadcast.js';
import { parseCondition, parseTopic, type FcmBroadcastTarget } from '../providers/fcm/fcm-topic-target.js';
import { buildFcmBroadcast } from '../providers/fcm/payload.js';
import { writeNotice, type CliIo } from './io.js';
import { printResult } from './print-record.js';
import type { SendOptions } from './run-send.js';
import { parseLabelFlag, sendFlags } from './send-flags.js';
import { compileMessage } from './send-inputs.js';

/** Flags of `send` that choose or shape recipients one by one: none applies to a message for a topic's subscribers. */
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

/** The target of `send --topic` or `--condition`, checked before anything else is read. */
export function broadcastTarget(options: SendOptions): FcmBroadcastTarget | undefined {
  if (options.topic === undefined && options.condition === undefined) return undefined;
  if (options.topic !== undefined && options.condition !== undefined) throw new UsageError('give --topic or --condition, not both: FCM takes one target a message');
  for (const [key, flag] of perRecipientFlags) {
    const value = options[key];
    if (value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0)) {
      throw new UsageError(
        `${flag} does not go with --${options.topic !== undefined ? 'topic' : 'condition'}: FCM sends one message to every subscriber of the topic, with no per-device step`,
      );
    }
  }
  return options.topic !== undefined ? { topic: parseTopic(options.topic) } : { condition: parseCondition(options.condition!) };
}

/**
 * `pushcast send --topic NAME` or `--condition EXPR`: one FCM message for every device subscribed
 * to the topic (or whose topics meet the condition), the template rendered once, with no
 * per-recipient variables; sent at most once (campaign/broadcast-send.ts).
 */
export async function runBroadcast(
  target: FcmBroadcastTarget,
  options: SendOptions,
  io: CliIo,
  given: { config?: PushcastConfig; /** Told the record, for --metrics-file. */ seen?: { record?: CampaignRecord } },
): Promise<number> {
  const givenLabel = parseLabelFlag(options.label);
  if (!options.message) throw new UsageError('--topic and --condition send a --message FILE (a JSON message template)');
  const { config } = given.config ? { config: given.config } : await loadConfig({ file: options.config, cwd: io.cwd, env: io.env, flags: sendFlags(options), signal: io.signal });
  throwIfInterrupted(io.signal, 'while reading the configuration');
  const { template, messageLabel, messageFile } = await compileMessage(options, io);
  // One message for every device: no row to fill a placeholder from; those with a default take it.
  const needed = template.placeholders.required;
  if (needed.length > 0) {
    const names = needed.map((name) => `{{${name}}}`).join(', ');
    throw new InputError(
      `message ${messageLabel}: ${names} would differ per device, and a topic message is rendered once for all: give ${needed.length === 1 ? 'it' : 'each'} a default ({{default name "…"}}) or send to an audience`,
    );
  }
  const rendered = template.render(Object.create(null) as Record<string, string>);
  if (!rendered.ok) throw new InputError(`message ${messageLabel}: ${rendered.detail}`);
  const label = (campaign: string) => (givenLabel === false ? undefined : (givenLabel ?? campaignAnalyticsLabel(campaign)));
  const build = (fcmAnalyticsLabel: string | undefined) => {
    const built = buildFcmBroadcast(rendered.message, target, { fcmAnalyticsLabel });
    if (!built.ok) throw new InputError(`message ${messageLabel}: ${built.detail}`);
    return built.payload;
  };
  // Its size is checked before the campaign's id is known: a label of 50 characters at most changes little.
  build(givenLabel === false ? undefined : (givenLabel ?? 'x'.repeat(50)));
  const result = await sendBroadcast(
    {
      provider: 'fcm',
      target: 'topic' in target ? { kind: 'topic', value: target.topic } : { kind: 'condition', value: target.condition },
      message: { file: messageLabel, path: messageFile! },
      label,
      open: (fcmAnalyticsLabel) => createFcmBroadcaster(config, target, build(fcmAnalyticsLabel), { signal: io.signal }),
    },
    {
      config,
      cwd: io.cwd,
      ownProcess: io.ownProcess,
      campaign: options.campaign,
      journal: options.journal,
      resendUncertain: options.resendUncertain,
      outputs: { report: options.report },
      signal: io.signal,
      warn: (text) => writeNotice(io, text),
    },
  );
  if (given.seen) given.seen.record = result.record;
  return printResult(result, options, io);
}
