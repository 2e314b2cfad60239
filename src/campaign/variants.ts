import { createHash } from 'node:crypto';
import { VariantCounter, type VariantsPlan, type VariantsRecord } from '../domain/ab-record.js';
import type { FinalEvent } from '../domain/outcome.js';
import { quoted } from '../domain/quote-value.js';
import { isAbVariantColumn, type AudienceRow } from '../domain/recipient.js';
import type { CompiledTemplate } from '../message/compile-template.js';

/** One message of an A/B campaign (`--variant FILE`), and the share of all recipients it gets. */
export interface Variant {
  /** Its name in the report, the journal's events and the FCM label: the file's name without its extension. */
  name: string;
  /** The file as given. */
  messageLabel: string;
  messageFile: string;
  template: CompiledTemplate;
  /** Of every recipient, holdout included: 0 to 1. */
  share: number;
}

/** `--variant a.json --variant b.json --split 50,50 --holdout 10%`. */
export interface VariantPlan {
  variants: Variant[];
  /** The share that gets nothing, to compare with: 0 to 1. */
  holdout: number;
  /** The split as a line: "a 45%, b 45%, holdout 10%": part of the campaign's identity. */
  spec: string;
}

/** How a recipient is drawn: the first 48 bits of SHA-256 over the campaign and the recipient's key, as a number in [0, 1). */
function draw(campaign: string, key: string): number {
  return createHash('sha256').update(campaign).update('\u0000').update(key).digest().readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The variant a recipient gets (undefined: the holdout), from a stable hash of the campaign and
 * the recipient (a user-ID row's user, else the device): every run, resume and shard of the
 * campaign draws the same, and a user's devices all get the user's.
 */
export function variantOf(plan: VariantPlan, campaign: string, key: string): string | undefined {
  let left = draw(campaign, key) - plan.holdout;
  if (left < 0) return undefined;
  for (const variant of plan.variants) {
    if (left < variant.share) return variant.name;
    left -= variant.share;
  }
  return plan.variants[plan.variants.length - 1].name; // a rounding's width past the last
}

/**
 * Gives each row of the audience its variant on the way to the engine; the holdout's rows are
 * skipped as `holdout`, and counted. A row of an audience with an `ab_variant` column (a --failed-out
 * file of the campaign) keeps the variant it names; one naming no variant of the plan is refused.
 */
export async function* assignVariants(
  rows: AsyncIterable<AudienceRow>,
  plan: VariantPlan,
  campaign: string,
  header: readonly string[] = [],
  /** A device an earlier run of the campaign sent or settled (its journal): never held out, whatever the holdout is now. */
  settled?: (key: string) => boolean,
): AsyncGenerator<AudienceRow> {
  const holdout = `the holdout (${percent(plan.holdout)} of the campaign): sent nothing, to compare the variants with`;
  const column = header.findIndex(isAbVariantColumn);
  const names = plan.variants.map((variant) => variant.name);
  for await (const row of rows) {
    if (row.kind === 'problem') {
      yield row;
      continue;
    }
    const named = column >= 0 ? row.fields[column]?.trim() : undefined;
    if (named) {
      if (names.includes(named)) yield { ...row, variant: named };
      else {
        const detail = `the ab_variant column names ${quoted(named)}, which is none of this campaign's variants (${names.join(', ')})`;
        yield { kind: 'problem', line: row.line, reason: 'malformed-row', detail, hash: row.hash, ...(row.kind === 'device' ? { provider: row.provider } : {}) };
      }
      continue;
    }
    const variant = variantOf(plan, campaign, row.key);
    if (variant !== undefined) yield { ...row, variant };
    else if (row.kind === 'device' && settled?.(row.key))
      yield row; // the engine gives it the journal's variant
    else yield { kind: 'problem', line: row.line, reason: 'holdout', detail: holdout, hash: row.hash, ...(row.kind === 'device' ? { provider: row.provider } : {}) };
  }
}

/** Counts the campaign's final events by variant, in all and by provider. */
export class VariantTally {
  private readonly counter: VariantCounter;
  private held = 0;

  constructor(plan: VariantPlan) {
    this.counter = new VariantCounter(plannedVariants(plan));
  }

  onFinal(event: FinalEvent): void {
    if (event.kind === 'skipped' && event.reason === 'holdout') this.held++;
    this.counter.count(event.recipient?.variant, event.provider, event.kind);
  }

  record(): VariantsRecord {
    return this.counter.record(this.held);
  }
}

/** The plan as the journal's run line and the report give it: names, messages, shares in percent. */
export function plannedVariants(plan: VariantPlan): VariantsPlan {
  return { variants: plan.variants.map((variant) => ({ name: variant.name, message: variant.messageLabel, share: shareOf(variant.share) })), holdout: shareOf(plan.holdout) };
}

/** A share as a percentage with at most two decimals: 0.45 → 45. */
function shareOf(share: number): number {
  return Math.round(share * 10_000) / 100;
}

function percent(share: number): string {
  return `${shareOf(share)}%`;
}

/** The plan's line: "a 45%, b 45%, holdout 10%". */
export function describeSplit(variants: Array<Pick<Variant, 'name' | 'share'>>, holdout: number): string {
  return [...variants.map((variant) => `${variant.name} ${percent(variant.share)}`), ...(holdout > 0 ? [`holdout ${percent(holdout)}`] : [])].join(', ');
}
