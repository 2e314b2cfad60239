/** Retries back off from 1 s, doubling, to at most 60 s, with full jitter so retries do not arrive together. */
export const retryPolicy = { baseMs: 1000, capMs: 60_000 } as const;

/**
 * How long to wait before attempt `attempt + 1`, after `attempt` failed with a retryable answer.
 * A provider's Retry-After is honoured as given (a little later, never sooner).
 */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return retryAfterMs + Math.floor(random() * Math.min(1000, retryAfterMs * 0.1 + 50));
  const ceiling = Math.min(retryPolicy.capMs, retryPolicy.baseMs * 2 ** (attempt - 1));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/** Refused streams go again sooner: 100 ms, doubling, jittered; they cost no attempt. */
export const refusedPolicy = { baseMs: 100 } as const;

/**
 * How long a provider waits before resending streams refused unread (a GOAWAY) after `streak`
 * batches in a row got refusals and no answer: short, since the work was never done, but growing,
 * since each resend opens a new connection and a server refusing everything would get a storm of them.
 */
export function reconnectDelay(streak: number, random: () => number = Math.random): number {
  const ceiling = refusedPolicy.baseMs * 2 ** (streak - 1);
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}
