import { defaultApnsEnvironment } from '../config/defaults.js';
import type { FinalEvent } from '../domain/outcome.js';
import type { ApnsEnvironment } from '../domain/recipient.js';
import { countKind, emptyCounts, type ProviderCounts } from '../domain/tally.js';

/** APNs counts by environment and by topic (app): a campaign can span sandbox and production, and several apps. */
export interface ApnsSplitRecord {
  byEnvironment: Partial<Record<ApnsEnvironment, ProviderCounts>>;
  byTopic: Record<string, ProviderCounts>;
}

/**
 * Splits the APNs outcomes by the environment each device was sent to and its topic, as
 * LeanCloud's records keep `prod` and `apnsTopic`: the sanity guard judges each environment
 * apart, and these counts show what it judged.
 */
export class ApnsSplit {
  private readonly split: ApnsSplitRecord = { byEnvironment: {}, byTopic: {} };

  constructor(private readonly defaults: { environment?: ApnsEnvironment; topic?: string }) {}

  onFinal(event: FinalEvent): void {
    if (event.provider !== 'apns' || !event.recipient) return;
    const environment = event.recipient.apnsEnvironment ?? this.defaults.environment ?? defaultApnsEnvironment;
    const topic = event.recipient.apnsTopic ?? this.defaults.topic ?? '(no topic)';
    countKind((this.split.byEnvironment[environment] ??= emptyCounts()), event.kind);
    countKind((this.split.byTopic[topic] ??= emptyCounts()), event.kind);
  }

  record(): ApnsSplitRecord | undefined {
    return Object.keys(this.split.byEnvironment).length > 0 ? this.split : undefined;
  }
}
