import type { FinalKind } from './outcome.js';
import type { ProviderName } from './recipient.js';
import { addCounts, countKind, emptyCounts, type ProviderCounts } from './tally.js';

/** An A/B campaign's variants, as its journal's run line keeps them: names, messages and shares (percentages of every recipient). */
export interface VariantsPlan {
  variants: Array<{ name: string; message: string; share: number }>;
  /** The holdout's share, in percent. */
  holdout: number;
}

/** A variant's devices' outcomes, in all and by provider (only the providers it had rows of): `pushcast stats` sets its FCM counts beside FCM's data of its label. */
export interface VariantCounts {
  counts: ProviderCounts;
  providers: Partial<Record<ProviderName, ProviderCounts>>;
}

/** An A/B campaign's counts, variant by variant (devices), and its holdout: what the report gives. */
export interface VariantsRecord {
  /** Shares are percentages of every recipient, the holdout included. */
  variants: Array<{ name: string; message: string; share: number } & VariantCounts>;
  /** `recipients` absent: not known (a run that died keeps no skipped rows in its journal). */
  holdout: { share: number; recipients?: number };
}

/**
 * Devices' last words counted by the variant they got, and the record they make with the plan: a
 * run's (campaign/variants.ts) and a died run's, rebuilt from its journal (report/read-campaign.ts).
 */
export class VariantCounter {
  private readonly counts: Map<string, VariantCounts>;

  constructor(private readonly plan: VariantsPlan) {
    this.counts = new Map(plan.variants.map((variant) => [variant.name, { counts: emptyCounts(), providers: {} }]));
  }

  /** A device's last word; one with no variant of the plan counts in none. */
  count(variant: string | undefined, provider: ProviderName | undefined, kind: FinalKind): void {
    const counts = variant === undefined ? undefined : this.counts.get(variant);
    if (!counts) return;
    countKind(counts.counts, kind);
    if (provider) countKind((counts.providers[provider] ??= emptyCounts()), kind);
  }

  /** `heldOut`: the holdout's rows, when known. */
  record(heldOut: number | undefined): VariantsRecord {
    return {
      variants: this.plan.variants.map((variant) => ({ ...variant, ...this.counts.get(variant.name)! })),
      holdout: { share: this.plan.holdout, ...(heldOut !== undefined ? { recipients: heldOut } : {}) },
    };
  }
}

/** Shards' (or runs') variant counts added up, variant by variant: the plan is the first's, which every shard shares. */
export function addVariantRecords(records: readonly VariantsRecord[]): VariantsRecord | undefined {
  if (records.length === 0) return undefined;
  const variants = records[0].variants.map((variant) => ({ ...variant, counts: emptyCounts(), providers: {} as VariantCounts['providers'] }));
  for (const record of records) {
    for (const variant of record.variants) {
      const sum = variants.find((each) => each.name === variant.name);
      if (!sum) continue;
      addCounts(sum.counts, variant.counts);
      for (const [provider, counts] of Object.entries(variant.providers ?? {}) as Array<[ProviderName, ProviderCounts]>)
        addCounts((sum.providers[provider] ??= emptyCounts()), counts);
    }
  }
  // One shard's holdout not known (it died): the sum is not known either.
  const known = records.every((record) => record.holdout.recipients !== undefined);
  const held = records.reduce((total, record) => total + (record.holdout.recipients ?? 0), 0);
  return { variants, holdout: { share: records[0].holdout.share, ...(known ? { recipients: held } : {}) } };
}
