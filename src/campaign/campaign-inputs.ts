import { registryVariables, type Audience } from '../audience/read-audience.js';
import { InputError } from '../errors.js';
import { unknownPlaceholders } from '../message/check-placeholders.js';
import type { CompiledTemplate } from '../message/compile-template.js';
import type { DeviceRegistry } from '../registry/device-registry.js';
import { channelAudience } from '../registry/resolve-users.js';

/** What a campaign reads: the audience (re-openable: --strict reads it twice), the compiled template, and the files behind them. */
export interface CampaignInputs {
  audience: Audience;
  template: CompiledTemplate;
  /** The message as people named it: its file, or how it was given (--title/--body). */
  messageLabel: string;
  /** The audience and message files, whose contents identify the campaign: empty for --token and --channel sends. */
  files: string[];
  reopen(): Promise<Audience>;
}

/**
 * `badge: "increment"` counts from the badge the device registry keeps: a list of tokens has none.
 * Said before anything is sent.
 */
export function checkBadge(inputs: CampaignInputs): void {
  const fromRegistry = inputs.audience.shape === 'users' || inputs.audience.lineIs === 'registry-device-id';
  if (inputs.template.incrementsBadge && !fromRegistry) {
    throw new InputError(
      `message ${inputs.messageLabel}: badge "increment" counts up from each device's badge in the device registry, and ${inputs.audience.path} is a list of tokens: send to user IDs (a user_id column) or a --channel, or give the badge as a number`,
    );
  }
}

/** A placeholder no column fills is said once, before any row is read, not once per row. */
export function checkPlaceholders(inputs: CampaignInputs): void {
  const unknown = unknownPlaceholders(inputs.template, inputs.audience.variables);
  if (unknown.length === 0) return;
  const columns = inputs.audience.variables.join(', ') || '(none)';
  throw new InputError(`message ${inputs.messageLabel}: ${unknown.join('; ')}; the columns of ${inputs.audience.path} are ${columns}`);
}

/** `--channel NAME` with no audience file: every valid device subscribed to it, from the registry. */
export function channelInputs(channel: string, registry: DeviceRegistry, message: { template: CompiledTemplate; messageLabel: string }, maxAgeDays?: number): CampaignInputs {
  const audience = (): Audience => ({
    path: `channel ${channel}`,
    shape: 'devices',
    header: ['provider', 'token', 'user_id'],
    variables: registryVariables,
    freeText: [],
    lineIs: 'registry-device-id',
    rows: channelAudience(registry, { channel, maxAgeDays }),
  });
  return { audience: audience(), ...message, files: [], reopen: async () => audience() };
}
