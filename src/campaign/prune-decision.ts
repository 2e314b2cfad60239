import type { PruneDecision } from '../domain/prune-decision.js';
import type { SanityGuard, Suspect } from '../report/sanity-guard.js';

/**
 * After the run: the groups the sanity guard suspects are held back from pruning, unless the
 * user said --trust-invalid. The suspects are still reported either way.
 */
export function decidePruning(guard: SanityGuard, trustInvalid: boolean): PruneDecision & { suspects: Suspect[]; trustInvalid: boolean } {
  const suspects = guard.suspects();
  return { suspects, trustInvalid, withheld: new Set(trustInvalid ? [] : suspects.map((suspect) => suspect.group)) };
}
