import { defaultApnsEnvironment as defaultEnvironment } from '../config/defaults.js';
import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';
import type { FinalEvent } from '../domain/outcome.js';
import type { GuardGroupOf } from '../domain/prune-decision.js';

/** Over this share of a group's devices… */
export const guardShare = 0.2;
/** …and at least this many: a handful of dead tokens in a small send is normal. */
export const guardMinimum = 30;

export interface Suspect {
  /** "fcm", "webpush", or "apns/production" and "apns/sandbox". */
  group: string;
  provider: ProviderName;
  invalid: number;
  targeted: number;
  note: string;
}

/**
 * Watches a campaign's answers per provider (and APNs environment). When a large share comes back
 * as invalid tokens whose answers the provider's classifier marked `wrongSender` (a dead token
 * gets them too, but so does a wrong project or environment), the report says why that is
 * suspicious and those tokens are not pruned.
 */
export class SanityGuard {
  private readonly groups = new Map<string, { provider: ProviderName; targeted: number; invalid: number; fixes: Map<string, number> }>();

  constructor(private readonly defaultApnsEnvironment: ApnsEnvironment = defaultEnvironment) {}

  /** The group a recipient's answer is judged in. */
  groupOf(event: FinalEvent): string | undefined {
    if (!event.provider) return undefined;
    if (event.provider !== 'apns') return event.provider;
    return `apns/${event.recipient?.apnsEnvironment ?? this.defaultApnsEnvironment}`;
  }

  /** Whether an answer is one the guard may hold back from the prune list. */
  isGuarded(event: FinalEvent): boolean {
    return event.kind === 'invalid' && event.wrongSender !== undefined;
  }

  /** The group an answer the guard may hold back is judged in; undefined for any other (domain/prune-decision.ts). */
  readonly heldBackGroup: GuardGroupOf = (event) => (this.isGuarded(event) ? this.groupOf(event) : undefined);

  observe(event: FinalEvent): void {
    const group = this.groupOf(event);
    if (!group || event.kind === 'skipped') return;
    let counts = this.groups.get(group);
    if (!counts) this.groups.set(group, (counts = { provider: event.provider!, targeted: 0, invalid: 0, fixes: new Map() }));
    counts.targeted++;
    if (this.isGuarded(event)) {
      counts.invalid++;
      const { fix } = event.wrongSender!;
      counts.fixes.set(fix, (counts.fixes.get(fix) ?? 0) + 1);
    }
  }

  suspects(): Suspect[] {
    const suspects: Suspect[] = [];
    for (const [group, { provider, targeted, invalid, fixes }] of this.groups) {
      if (invalid < guardMinimum || invalid / targeted <= guardShare) continue;
      const share = Math.round((invalid / targeted) * 100);
      const [likeliest] = [...fixes].sort(([, a], [, b]) => b - a)[0];
      suspects.push({
        group,
        provider,
        invalid,
        targeted,
        note: `${share}% of ${group} devices came back invalid: so many dead tokens at once more likely means ${likeliest}. They are listed as suspect, not pruned; --trust-invalid prunes them.`,
      });
    }
    return suspects;
  }
}
