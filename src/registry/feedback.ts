import type { ProviderName } from '../domain/recipient.js';
import type { FinalEvent } from '../domain/outcome.js';
import type { SanityGuard, Suspect } from '../report/sanity-guard.js';
import type { DeviceRegistry } from './device-registry.js';

interface Invalid {
  provider: ProviderName;
  token: string;
  reason: string;
  group?: string;
  /** The answer is also what a token of the other APNs environment gets. */
  otherEnvironment: boolean;
}

/**
 * Tells the registry which tokens came back invalid, once the campaign is over and the sanity
 * guard has had its say: sends skip those devices from then on.
 */
export class RegistryFeedback {
  private readonly invalid: Invalid[] = [];
  private readonly badges: Array<{ provider: ProviderName; token: string; badge: number }> = [];

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly guard: SanityGuard,
    /** The message counts each badge up (`badge: "increment"`): an accepted send stores the new one. */
    private readonly incrementsBadge = false,
  ) {}

  onFinal(event: FinalEvent): void {
    if (!event.recipient || !event.provider) return;
    if (event.kind === 'accepted' && this.incrementsBadge && event.recipient.badge !== undefined) {
      this.badges.push({ provider: event.provider, token: event.recipient.token, badge: event.recipient.badge + 1 });
    }
    if (event.kind !== 'invalid') return;
    this.invalid.push({
      provider: event.provider,
      token: event.recipient.token,
      reason: event.reason ?? 'invalid',
      group: this.guard.isGuarded(event) ? this.guard.groupOf(event) : undefined,
      otherEnvironment: Boolean(event.wrongSender?.otherEnvironment),
    });
  }

  /** Marks the invalid tokens, except a suspect group's, and those whose answer a token of the other environment gets too, when the device never said its environment. */
  apply(suspects: Suspect[], trustInvalid: boolean): { file: string; marked: number; heldBack: number } {
    const withheld = new Set(trustInvalid ? [] : suspects.map((suspect) => suspect.group));
    const marked: Invalid[] = [];
    let heldBack = 0;
    for (const entry of this.invalid) {
      const wrongEnvironmentPossible = entry.otherEnvironment && !this.registry.environmentOf(entry.provider, entry.token);
      if ((entry.group && withheld.has(entry.group)) || wrongEnvironmentPossible) heldBack++;
      else marked.push(entry);
    }
    this.registry.setBadges(this.badges);
    return { file: this.registry.path, marked: this.registry.markInvalid(marked), heldBack };
  }
}
