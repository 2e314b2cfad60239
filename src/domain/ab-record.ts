import type { ProviderCounts } from './tally.js';

/** An A/B campaign's counts, variant by variant (devices), and its holdout: what the report gives. */
export interface VariantsRecord {
  /** Shares are percentages of every recipient, the holdout included. */
  variants: Array<{ name: string; message: string; share: number; counts: ProviderCounts }>;
  holdout: { share: number; recipients: number };
}
