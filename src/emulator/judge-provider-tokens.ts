/** APNs refuses a provider token issued more than an hour ago. */
const tokenLifetimeMs = 60 * 60_000;
/** ... and a token renewed less than 20 minutes after the one before it. */
const minimumRenewalMs = 20 * 60_000;
/** Tokens dated at once: a sender renews one at most every 20 minutes, so this many is a storm of them. */
const datedTokensKept = 100_000;

export type ProviderTokenRefusal = { status: 403; reason: 'ExpiredProviderToken' } | { status: 429; reason: 'TooManyProviderTokenUpdates' };

/**
 * APNs's rules on provider tokens (a token "more than one hour old" is refused as expired; a
 * token updated more often than once every 20 minutes, TooManyProviderTokenUpdates), judged on the
 * emulator's own clock, which a test moves (`advanceClock`).
 * https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
 * A token is dated when first seen: its `iat` as the sender's clock then said, on the emulator's
 * clock. Moving the clock ages the tokens seen before, as if that time had passed for the sender
 * too, but the sender's own clock stays where it was: it learns of it from the answers alone.
 * The 20-minute rule is judged per connection, between the tokens it presented.
 */
export class ProviderTokenJudge {
  private advancedMs = 0;
  private skewMs = 0;
  /** Each token's issue time on the emulator's clock. */
  private readonly issuedAt = new Map<string, number>();
  /** The token each connection presented last, and its issue time. */
  private readonly presented = new WeakMap<object, { jwt: string; issuedAt: number }>();

  /** Moves the emulator's clock `ms` ahead. */
  advanceClock(ms: number): void {
    this.advancedMs += ms;
  }

  /**
   * Puts APNs's clock `ms` ahead of the sender's (a sender whose clock is slow): every token it
   * signs, however new, is that much older to APNs, and past an hour each one is refused.
   */
  skewClock(ms: number): void {
    this.skewMs += ms;
  }

  /** The refusal `jwt` (verified, issued at `iat` seconds) gets on `connection`, or nothing. */
  judge(jwt: string, iat: number, connection: object | undefined): ProviderTokenRefusal | undefined {
    let issuedAt = this.issuedAt.get(jwt);
    if (issuedAt === undefined) {
      if (this.issuedAt.size >= datedTokensKept) this.issuedAt.clear();
      this.issuedAt.set(jwt, (issuedAt = iat * 1000 + this.advancedMs));
    }
    if (Date.now() + this.advancedMs + this.skewMs - issuedAt > tokenLifetimeMs) return { status: 403, reason: 'ExpiredProviderToken' };
    if (!connection) return undefined;
    const before = this.presented.get(connection);
    if (before && before.jwt !== jwt && Math.abs(issuedAt - before.issuedAt) < minimumRenewalMs) return { status: 429, reason: 'TooManyProviderTokenUpdates' };
    this.presented.set(connection, { jwt, issuedAt });
    return undefined;
  }
}
