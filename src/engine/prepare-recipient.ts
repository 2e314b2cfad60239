import type { DeviceRecipient, ProviderName, RowProblem } from '../domain/recipient.js';
import type { CompiledTemplate } from '../message/compile-template.js';
import { buildApnsPayload } from '../providers/apns/payload.js';
import { buildFcmPayload } from '../providers/fcm/payload.js';
import type { BuildContext, BuildResult, PayloadByProvider, Rendered } from '../providers/provider.js';
import { buildWebPushPayload } from '../providers/webpush/payload.js';
import type { RenderedMessage } from '../message/compile-template.js';

type PayloadBuilder<P extends ProviderName> = (
  message: RenderedMessage,
  recipient: DeviceRecipient,
  context: BuildContext,
) => BuildResult<PayloadByProvider[P]>;

export const payloadBuilders: { [P in ProviderName]: PayloadBuilder<P> } = {
  fcm: buildFcmPayload,
  apns: buildApnsPayload,
  webpush: buildWebPushPayload,
};

/** Renders one recipient's message and builds its provider payload, or says why the row cannot be sent. */
export function prepareRecipient(template: CompiledTemplate, recipient: DeviceRecipient, context: BuildContext): Rendered | RowProblem {
  const rendered = template.render(recipient.vars, recipient.locale);
  const { line, provider } = recipient;
  if (!rendered.ok) return { kind: 'problem', line, provider, reason: rendered.reason, detail: rendered.detail };
  const built = (payloadBuilders[provider] as PayloadBuilder<ProviderName>)(rendered.message, recipient, context);
  if (!built.ok) return { kind: 'problem', line, provider, reason: built.reason, detail: built.detail };
  return { provider, recipient, payload: built.payload } as Rendered;
}
