import { registryVariables, type Audience } from '../audience/read-audience.js';
import { oneLine } from '../domain/quote-value.js';
import { InputError } from '../errors.js';
import { unknownPlaceholders } from '../message/check-placeholders.js';
import type { CompiledTemplate } from '../message/compile-template.js';
import type { DeviceRegistry } from '../registry/registry.js';
import type { DeviceQuery } from '../registry/device-query.js';
import { registryAudience } from '../registry/resolve-users.js';
import type { CampaignIdentity } from './campaign-id.js';
import type { VariantPlan } from './variants.js';

/** What a campaign reads: the audience (re-openable: --strict reads it twice), the compiled template, and what identifies them. */
export interface CampaignInputs {
  audience: Audience;
  template: CompiledTemplate;
  /** The message as people named it: its file, or how it was given (--title/--body). */
  messageLabel: string;
  /** The message's file, when --message named one: its contents are the message's identity. */
  messageFile?: string;
  /**
   * What the campaign's default id is derived from, with the message file: the audience file, a
   * channel. None for standard input and a --token smoke test, which have no default id.
   */
  identity?: CampaignIdentity;
  /** The attribute names the registry holds: a template may name them when the audience's devices come from the registry. */
  registryAttributes?: string[];
  /** An A/B campaign (--variant): its messages and split; `template` is then the first variant's. */
  variants?: VariantPlan;
  reopen(): Promise<Audience>;
}

/** Whether the audience's devices come from the registry (user IDs, a channel, a query): they carry its attributes. */
export function registryDevices(inputs: CampaignInputs): boolean {
  return inputs.audience.shape === 'users' || inputs.audience.lineIs === 'registry-device-id';
}

/** Whether the template names a placeholder that neither the audience nor the registry's known attributes fill. */
export function needsMoreVariables(inputs: CampaignInputs): boolean {
  return messagesOf(inputs).some(({ template }) => unknownPlaceholders(template, variablesOf(inputs)).length > 0);
}

/** Whether any of the campaign's messages counts the badge up. */
export function incrementsBadge(inputs: CampaignInputs): boolean {
  return messagesOf(inputs).some(({ template }) => template.incrementsBadge);
}

/** The campaign's messages: its one template, or each variant's. */
function messagesOf(inputs: CampaignInputs): Array<{ template: CompiledTemplate; messageLabel: string }> {
  return inputs.variants ? inputs.variants.variants : [inputs];
}

function variablesOf(inputs: CampaignInputs): string[] {
  return registryDevices(inputs) ? [...inputs.audience.variables, ...(inputs.registryAttributes ?? [])] : inputs.audience.variables;
}

/**
 * `badge: "increment"` counts from the badge the device registry keeps: a list of tokens has none.
 * Said before anything is sent.
 */
export function checkBadge(inputs: CampaignInputs): void {
  const counting = messagesOf(inputs).find(({ template }) => template.incrementsBadge);
  if (counting && !registryDevices(inputs)) {
    throw new InputError(
      `message ${counting.messageLabel}: badge "increment" counts up from each device's badge in the device registry, and ${inputs.audience.path} is a list of tokens: send to user IDs (a user_id column) or a --channel, or give the badge as a number`,
    );
  }
}

/** A placeholder no column fills is said once, before any row is read, not once per row. */
export function checkPlaceholders(inputs: CampaignInputs): void {
  for (const { template, messageLabel } of messagesOf(inputs)) {
    const unknown = unknownPlaceholders(template, variablesOf(inputs));
    if (unknown.length === 0) continue;
    const columns = variablesOf(inputs).join(', ') || '(none)';
    // Column names are the file's: one holding a line break stays on this line.
    throw new InputError(oneLine(`message ${messageLabel}: ${unknown.join('; ')}; the columns of ${inputs.audience.path} are ${columns}`));
  }
}

/** `--channel NAME` and/or `--where QUERY` with no audience file: every valid device in the channel and matching the query, from the registry. */
export function registryInputs(
  selection: { channel?: string; where?: DeviceQuery },
  registry: DeviceRegistry,
  message: { template: CompiledTemplate; messageLabel: string; messageFile?: string },
  maxAgeDays?: number,
): CampaignInputs {
  const { channel, where } = selection;
  const path = [channel !== undefined ? `channel ${channel}` : where ? 'registry devices' : 'channel *', ...(where ? [`where ${where.text}`] : [])].join(' ');
  const audience = (): Audience => ({
    path,
    shape: 'devices',
    header: ['provider', 'token', 'user_id'],
    variables: registryVariables,
    freeText: [],
    lineIs: 'registry-device-id',
    rows: registryAudience(registry, { channel, where, maxAgeDays }),
  });
  return { audience: audience(), ...message, identity: { channel, where: where?.canonical }, reopen: async () => audience() };
}
