import type { ProviderName } from '../domain/recipient.js';
import type { FinalEvent } from '../domain/outcome.js';
import type { GuardGroupOf, PruneDecision } from '../domain/prune-decision.js';
import { deviceKey, type DeviceKey, type DeviceRegistry } from './registry.js';

interface Invalid {
  provider: ProviderName;
  token: string;
  reason: string;
  group?: string;
  /** The answer is also what a token of the other APNs environment gets. */
  otherEnvironment: boolean;
}

/** Outcomes after which a claimed device keeps its claim (and its badge): it reached, or may have reached, the provider; or its other listing did. */
function keepsClaim(event: FinalEvent): boolean {
  return event.kind === 'accepted' || event.kind === 'uncertain' || (event.kind === 'skipped' && event.reason === 'duplicate');
}

/**
 * Tells the registry how the campaign went, once it is over and the sanity guard has had its
 * say: which tokens came back invalid (sends skip those devices from then on), and which claimed
 * devices this run did not deliver (their claims and badge increments are given back, so that a
 * later run sends them with the right badge).
 */
export class RegistryFeedback {
  private readonly invalid: Invalid[] = [];
  private readonly undelivered: DeviceKey[] = [];

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly groupOf: GuardGroupOf,
    /** The campaign the claims were made for, by this shard. */
    private readonly claims?: { campaign: string; shard: string; incrementBadge: boolean },
    /** --no-feedback: the claims are given back, but no token is marked. */
    private readonly marksInvalid = true,
  ) {}

  onFinal(event: FinalEvent): void {
    if (!event.recipient || !event.provider) return;
    // An earlier run's answer counts too: this run claimed the device again (or anew), and a run killed before its end gave nothing back.
    if (event.recipient.claimed && !keepsClaim(event)) this.undelivered.push({ provider: event.provider, token: event.recipient.token });
    if (event.kind !== 'invalid') return;
    this.invalid.push({
      provider: event.provider,
      token: event.recipient.token,
      reason: event.reason ?? 'invalid',
      group: this.groupOf(event),
      otherEnvironment: Boolean(event.wrongSender?.otherEnvironment),
    });
  }

  /** Marks the invalid tokens, except a suspect group's, and those whose answer a token of the other environment gets too, when the device never said its environment. */
  async apply({ withheld }: PruneDecision): Promise<{ file: string; marked: number; heldBack: number } | undefined> {
    if (this.claims) await this.registry.release(this.claims.campaign, this.claims.shard, this.undelivered, this.claims.incrementBadge);
    if (!this.marksInvalid) return undefined;
    const environments = await this.registry.environmentsOf(this.invalid.filter((entry) => entry.otherEnvironment));
    const marked: Invalid[] = [];
    let heldBack = 0;
    for (const entry of this.invalid) {
      const wrongEnvironmentPossible = entry.otherEnvironment && !environments.get(deviceKey(entry));
      if ((entry.group && withheld.has(entry.group)) || wrongEnvironmentPossible) heldBack++;
      else marked.push(entry);
    }
    return { file: this.registry.label, marked: await this.registry.markInvalid(marked), heldBack };
  }
}
