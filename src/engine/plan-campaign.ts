import { providerNames, maskToken, type ProviderName, type RowProblem, type SkipReason } from '../domain/recipient.js';
import type { Audience } from '../audience/read-audience.js';
import type { CompiledTemplate } from '../message/compile-template.js';
import { platformNotes } from '../message/platform-notes.js';
import type { BuildContext, PayloadByProvider, Rendered } from '../providers/provider.js';
import { withApnsExpiration } from '../providers/fcm/payload.js';
import { prepareRecipient } from './prepare-recipient.js';

/** Bad rows listed in full in a plan; the counts always cover every row. */
export const maxListedProblems = 1000;

/** What a campaign would do, found by reading and rendering the whole audience without sending. */
export interface CampaignPlan {
  audience: string;
  shape: Audience['shape'];
  /** Data rows read (the header and blank lines not counted). */
  rows: number;
  recipients: Record<ProviderName, number>;
  /** User-ID rows, which the device registry resolves to devices when sending. */
  users: number;
  skipped: Partial<Record<SkipReason, number>>;
  errors: Array<Omit<RowProblem, 'kind'>>;
  /** Bad rows beyond `maxListedProblems`, counted in `skipped` but not listed. */
  errorsNotListed: number;
  /** One rendered payload per provider, tokens masked. */
  samples: Partial<{ [P in ProviderName]: unknown }>;
  /** Fields of the message some platforms have no equivalent for. */
  notes: string[];
}

export interface PlanOptions {
  /** Stop at the first bad row. */
  strict?: boolean;
  /** Called for each bad row as it is found. */
  onProblem?: (problem: RowProblem) => void;
}

export async function planCampaign(audience: Audience, template: CompiledTemplate, context: BuildContext, options: PlanOptions = {}): Promise<CampaignPlan> {
  const plan: CampaignPlan = {
    audience: audience.path,
    shape: audience.shape,
    rows: 0,
    recipients: { fcm: 0, apns: 0, webpush: 0 },
    users: 0,
    skipped: {},
    errors: [],
    errorsNotListed: 0,
    samples: {},
    notes: platformNotes(template.template),
  };
  const addProblem = (problem: RowProblem): void => {
    plan.skipped[problem.reason] = (plan.skipped[problem.reason] ?? 0) + 1;
    const { kind: _kind, ...listed } = problem;
    if (plan.errors.length < maxListedProblems) plan.errors.push(listed);
    else plan.errorsNotListed++;
    options.onProblem?.(problem);
  };

  for await (const row of audience.rows) {
    plan.rows++;
    if (row.kind === 'problem') {
      addProblem(row);
    } else if (row.kind === 'user') {
      const rendered = template.render(row.vars, row.locale);
      if (rendered.ok) plan.users++;
      else addProblem({ kind: 'problem', line: row.line, reason: rendered.reason, detail: rendered.detail });
    } else {
      const prepared = prepareRecipient(template, row, context);
      if ('kind' in prepared) {
        addProblem(prepared);
      } else {
        plan.recipients[prepared.provider]++;
        plan.samples[prepared.provider] ??= samplePayload(prepared);
      }
    }
    if (options.strict && plan.errors.length > 0) break;
  }
  return plan;
}

/** A payload as the provider would receive it, with the device's token masked. */
function samplePayload(rendered: Rendered): unknown {
  if (rendered.provider === 'fcm') {
    const message = withApnsExpiration(rendered.payload as PayloadByProvider['fcm'], Math.floor(Date.now() / 1000));
    return { ...message, token: maskToken(message.token) };
  }
  if (rendered.provider === 'webpush') {
    const { plaintext, ...options } = rendered.payload;
    return { endpoint: maskToken(rendered.recipient.token), options, payload: JSON.parse(plaintext) };
  }
  return { token: maskToken(rendered.recipient.token), ...rendered.payload };
}

export function countRecipients(plan: CampaignPlan): number {
  return providerNames.reduce((sum, name) => sum + plan.recipients[name], 0);
}
