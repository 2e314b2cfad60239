import { sendCampaign } from '../../campaign/send-campaign.js';
import { loadConfig } from '../../config/load-config.js';
import type { MessageTemplate } from '../../message/load-template.js';
import { openRegistry, registryExists, registryTarget } from '../../registry/open-registry.js';
import { printResult, terminalListener } from '../print-record.js';
import { openInputs } from '../send-inputs.js';
import { writeNotice, type CliIo } from '../io.js';
import { parseThresholds } from '../send-flags.js';

export interface CheckOptions {
  audience: string;
  provider?: string;
  encoding?: string;
  config?: string;
  invalidOut?: string;
  report?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  html?: string;
  maxInvalidRate?: string;
  trustInvalid?: boolean;
  registry?: string;
  /** --no-feedback: leave the device registry as it is. */
  feedback?: boolean;
}

/** What FCM validates tokens with: it checks message and token, and delivers nothing. */
const checkTemplate: MessageTemplate = { kind: 'notification', title: 'pushcast token check', body: 'validate_only: never delivered' };

/**
 * `pushcast check`: which tokens are still valid, with nothing delivered. FCM answers a
 * validate_only send as it would a real one; APNs and Web Push have no such mode, so their rows
 * get the offline format checks only and are reported as format-checked-only.
 */
export async function checkCommand(options: CheckOptions, io: CliIo): Promise<number> {
  const { config } = await loadConfig({
    file: options.config,
    cwd: io.cwd,
    env: io.env,
    flags: [{ path: 'registry', flag: '--registry', value: options.registry }],
    signal: io.signal,
  });
  const thresholds = parseThresholds(options);
  const inputs = await openInputs({ audience: options.audience, provider: options.provider, encoding: options.encoding, defaultTemplate: checkTemplate }, io);
  const registryAt = registryTarget(config.registry, io.cwd, io.env);
  const registry =
    options.feedback !== false && registryExists(registryAt) ? await openRegistry(registryAt, { migrate: true, notice: (text) => writeNotice(io, text) }) : undefined;
  const listener = await terminalListener(io, options, inputs.audience.shareRead);
  try {
    const result = await sendCampaign(inputs, {
      config,
      cwd: io.cwd,
      ownProcess: io.ownProcess,
      validateOnly: true,
      thresholds,
      trustInvalid: options.trustInvalid,
      outputs: { report: options.report, html: options.html, invalidOut: options.invalidOut },
      registry,
      feedback: options.feedback,
      signal: io.signal,
      listener,
    });
    listener.stop();
    return printResult(result, options, io);
  } finally {
    listener.stop();
    await registry?.close();
  }
}
