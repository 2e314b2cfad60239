import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';

/**
 * The APNs provider token (a JWT signed with the .p8 key): one per key for the whole process,
 * shared by every connection and every sending thread. APNs wants a token refreshed no more than
 * once every 20 minutes and no less than once an hour, and answers 429 TooManyProviderTokenUpdates
 * to one renewed more often, which a token per connection or per thread did (pigeon #226, dotAPNS
 * #128, pushy #931).
 * https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns
 */
export interface ApnsTokenKey {
  key: string;
  keyId: string;
  teamId: string;
}

/**
 * A signed token, as it crosses to the sending threads: the JWT, its generation and when it was
 * signed; `expiredYoungMs`: APNs called it expired this long after it was signed, under 20
 * minutes, so it was not renewed (see `renew`).
 */
export interface SignedProviderToken {
  jwt: string;
  generation: number;
  issuedAtMs: number;
  expiredYoungMs?: number;
}

/** Where a connection gets the token it sends: the signer itself, or (in a sending thread) the main thread's. */
export interface ProviderTokenSource {
  /** Undefined only in a sending thread that has not heard from the main thread yet: `fresh()` waits for it. */
  readonly token: SignedProviderToken | undefined;
  /** The token of `generation` was refused as expired: a new one is signed, once per generation. */
  renew(generation: number): void;
  /** Resolves once the token is fit to send: signed, and renewed if it is old. */
  fresh(): Promise<void>;
}

/** Renewed at 50 minutes: inside APNs's window of 20 to 60. */
export const renewAfterMs = 50 * 60_000;
/** APNs refuses a token renewed sooner than this after the one before (429 TooManyProviderTokenUpdates). */
const minimumRenewalMs = 20 * 60_000;

/** Signs the provider token of one key, and a new one when it is old or APNs said it expired. */
class ProviderTokenSigner implements ProviderTokenSource {
  token: SignedProviderToken;
  private readonly privateKey: KeyObject;

  constructor(private readonly key: ApnsTokenKey) {
    this.privateKey = createPrivateKey(key.key);
    this.token = this.sign(0);
  }

  /**
   * APNs called the token of `generation` expired: a new one, once. Not for a token signed less
   * than 20 minutes ago: APNs would refuse the new one as renewed too often, and a token that
   * young expires only to a clock an hour away from APNs's (this machine's). The token is kept,
   * marked, and the sender stops with what to fix (create-apns.ts).
   */
  renew(generation: number): void {
    if (generation !== this.token.generation) return;
    const age = Date.now() - this.token.issuedAtMs;
    if (age < minimumRenewalMs) this.token = { ...this.token, expiredYoungMs: age };
    else this.token = this.sign(generation + 1);
  }

  async fresh(): Promise<void> {
    if (Date.now() - this.token.issuedAtMs >= renewAfterMs) this.token = this.sign(this.token.generation + 1);
  }

  /** ES256 over `{alg, kid}.{iss, iat}`, as APNs asks. */
  private sign(generation: number): SignedProviderToken {
    const issuedAtMs = Date.now();
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'ES256', kid: this.key.keyId })}.${part({ iss: this.key.teamId, iat: Math.floor(issuedAtMs / 1000) })}`;
    const signature = sign('sha256', Buffer.from(unsigned), { key: this.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    return { jwt: `${unsigned}.${signature}`, generation, issuedAtMs };
  }
}

/** A sending thread's token: the main thread signs it (`signedProviderToken`), this thread asks for it and is told each new one. */
class RelayedProviderToken implements ProviderTokenSource {
  token: SignedProviderToken | undefined;
  /** The main thread could not sign: every send fails with it. */
  private failed?: Error;
  private asked?: { generation: number | undefined; heard: Promise<void>; resolve(): void };

  constructor(private readonly ask: (generation: number | undefined) => void) {}

  heard(answer: SignedProviderToken | Error): void {
    if (answer instanceof Error) this.failed = answer;
    else if (!this.token || answer.generation >= this.token.generation) this.token = answer;
    // Answered: failed, or a token newer than the one asked about, or that one refused renewal (too young: see ProviderTokenSigner.renew).
    const refused = this.token?.expiredYoungMs !== undefined && this.token.generation === this.asked?.generation;
    if (this.asked && (this.failed || refused || (this.token && (this.asked.generation === undefined || this.token.generation > this.asked.generation)))) {
      this.asked.resolve();
      this.asked = undefined;
    }
  }

  renew(generation: number): void {
    if (this.token?.generation === generation) this.askFor(generation);
  }

  async fresh(): Promise<void> {
    if (!this.token) this.askFor(undefined);
    else if (Date.now() - this.token.issuedAtMs >= renewAfterMs) this.renew(this.token.generation);
    await this.asked?.heard;
    if (this.failed) throw this.failed;
  }

  /** One question at a time: the main thread's answer goes to every thread. */
  private askFor(generation: number | undefined): void {
    if (this.asked || this.failed) return;
    let resolve!: () => void;
    const heard = new Promise<void>((done) => (resolve = done));
    this.asked = { generation, heard, resolve };
    this.ask(generation);
  }
}

/** The process's signers, by team, key id and a digest of the key (two keys may share an id in tests, never a token). */
const signers = new Map<string, ProviderTokenSigner>();
/** Set in a sending thread (provider-thread.ts): there, tokens come from the main thread. */
let relayed: RelayedProviderToken | undefined;

/** The token source for `key` in this thread. */
export function sharedProviderToken(key: ApnsTokenKey): ProviderTokenSource {
  return relayed ?? signerOf(key);
}

/**
 * The main thread's answer to a sending thread that asks for the token (`generation` undefined) or
 * says the token of `generation` expired: the current token, renewed first if it is that one or old.
 */
export async function signedProviderToken(key: ApnsTokenKey, generation: number | undefined): Promise<SignedProviderToken> {
  const signer = signerOf(key);
  if (generation !== undefined) signer.renew(generation);
  await signer.fresh();
  return signer.token;
}

/** Makes this thread a sending thread, whose tokens come from the main thread: `ask` asks, the function returned is told the answers. */
export function relayProviderTokens(ask: (generation: number | undefined) => void): (answer: SignedProviderToken | Error) => void {
  const relay = (relayed = new RelayedProviderToken(ask));
  return (answer) => relay.heard(answer);
}

function signerOf(key: ApnsTokenKey): ProviderTokenSigner {
  const id = [key.teamId, key.keyId, createHash('sha256').update(key.key).digest('hex')].join('\u0000');
  let signer = signers.get(id);
  if (!signer) signers.set(id, (signer = new ProviderTokenSigner(key)));
  return signer;
}

/**
 * What a send says of a token APNs called expired `ageMs` after it was signed (under 20 minutes):
 * APNs reads the token's time on its own clock, and an hour has passed there.
 */
export function clockOff(ageMs: number): { kind: 'fatal'; reason: 'clock-off'; fix: string } {
  const age = ageMs < 60_000 ? 'seconds' : `${Math.round(ageMs / 60_000)} minute${Math.round(ageMs / 60_000) === 1 ? '' : 's'}`;
  const ahead = Math.max(1, 60 - Math.floor(ageMs / 60_000));
  return {
    kind: 'fatal',
    reason: 'clock-off',
    fix: `APNs called expired a provider token signed ${age} ago: this machine's clock is off: APNs's runs at least ${ahead} minutes ahead of it. Set it (NTP) and run again; a new token now would be refused as renewed too often`,
  };
}
