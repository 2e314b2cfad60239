import type { Outcome } from '../domain/outcome.js';
import type { ProviderName } from '../domain/recipient.js';
import type { Provider, ProviderDescriptor, Rendered } from './provider.js';

/**
 * A provider that sends nothing: it takes every payload as accepted and keeps the first one as a
 * sample, as nodemailer's json transport does for mail. `--dry-run` and `--strict` run the real
 * engine with it, so a plan skips exactly the rows a send would.
 */
export class DryRunProvider<P extends ProviderName> implements Provider<P> {
  readonly name: P;
  readonly maxBatch = 500;

  constructor(
    private readonly descriptor: ProviderDescriptor<P>,
    private readonly samples: Partial<Record<ProviderName, unknown>>,
  ) {
    this.name = descriptor.name;
  }

  async send(batch: ReadonlyArray<Rendered<P>>): Promise<Outcome[]> {
    if (batch.length > 0 && !(this.name in this.samples)) this.samples[this.name] = this.descriptor.sample(batch[0]);
    return batch.map(() => ({ kind: 'accepted' }));
  }

  async close(): Promise<void> {}
}
