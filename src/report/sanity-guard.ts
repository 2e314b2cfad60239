import type { ApnsEnvironment, ProviderName } from '../domain/recipient.js';
import type { FinalEvent } from '../engine/run-campaign.js';

/** The invalid-token answers that, in bulk, more likely mean a wrong credential or environment than dead tokens. */
const guardedReasons: Record<ProviderName, ReadonlySet<string>> = {
  fcm: new Set(['unregistered', 'invalid-registration-token']),
  apns: new Set(['BadDeviceToken', 'Unregistered']),
  webpush: new Set(['vapid-key-mismatch']),
};
/** Over this share of a group's devices… */
export const guardShare = 0.2;
/** …and at least this many: a handful of dead tokens in a small send is normal. */
export const guardMinimum = 30;

const likelyCauses: Record<ProviderName, string> = {
  fcm: 'a service account of another Firebase project, or tokens from another app',
  apns: 'the wrong APNs environment (sandbox tokens sent to production, or the reverse) or another app\'s key',
  webpush: 'another VAPID key than the one the browsers subscribed with',
};

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
 * as invalid tokens, the report says why that is suspicious and those tokens are not pruned.
 */
export class SanityGuard {
  private readonly groups = new Map<string, { provider: ProviderName; targeted: number; invalid: number }>();

  constructor(private readonly defaultApnsEnvironment: ApnsEnvironment = 'production') {}

  /** The group a recipient's answer is judged in. */
  groupOf(event: FinalEvent): string | undefined {
    if (!event.provider) return undefined;
    if (event.provider !== 'apns') return event.provider;
    return `apns/${event.recipient?.apnsEnvironment ?? this.defaultApnsEnvironment}`;
  }

  /** Whether an answer is one the guard may hold back from the prune list. */
  isGuarded(event: FinalEvent): boolean {
    return event.kind === 'invalid' && event.provider !== undefined && guardedReasons[event.provider].has(event.reason ?? '');
  }

  observe(event: FinalEvent): void {
    const group = this.groupOf(event);
    if (!group || event.kind === 'skipped') return;
    const counts = this.groups.get(group) ?? { provider: event.provider!, targeted: 0, invalid: 0 };
    counts.targeted++;
    if (this.isGuarded(event)) counts.invalid++;
    this.groups.set(group, counts);
  }

  suspects(): Suspect[] {
    const suspects: Suspect[] = [];
    for (const [group, { provider, targeted, invalid }] of this.groups) {
      if (invalid < guardMinimum || invalid / targeted <= guardShare) continue;
      const share = Math.round((invalid / targeted) * 100);
      suspects.push({
        group,
        provider,
        invalid,
        targeted,
        note: `${share}% of ${group} devices came back invalid: more likely ${likelyCauses[provider]} than dead tokens. They are listed as suspect, not pruned; --trust-invalid prunes them.`,
      });
    }
    return suspects;
  }
}
