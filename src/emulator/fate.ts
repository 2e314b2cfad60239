import { digest48, type EmulatedProvider } from './emulated.js';

/** How the emulator treats its traffic. Shares are fractions of tokens, each decided once per token. */
/** The RST_STREAM codes `resetUnanswered` can send. */
export const resetCodes = { 'refused-stream': 0x7, 'no-error': 0x0 } as const;
export type ResetCode = keyof typeof resetCodes;
/** The ways `dropConnection` drops an HTTP/2 connection. */
export const dropWays = ['goaway', 'cut'] as const;
export type DropBy = (typeof dropWays)[number];

export interface Behaviour {
  /** Makes the per-token decisions reproducible: same seed, same token, same fate. */
  seed: string;
  /** Tokens that are no longer registered (FCM UNREGISTERED, APNs 410 Unregistered, Web Push 410). */
  unregistered: number;
  /** APNs tokens answered 400 BadDeviceToken, as when they belong to the other environment. */
  badDeviceToken: number;
  /** Tokens whose first attempt gets 429 with Retry-After. */
  tooManyRequests: number;
  /** Tokens whose first attempt gets 503. */
  unavailable: number;
  /** Tokens whose first attempt finds the connection dropped (HTTP/2 GOAWAY, HTTP/1.1 reset) before any answer. */
  dropConnection: number;
  /** How a connection is dropped: a GOAWAY that says what was not processed, or a cut that says nothing. */
  dropBy: DropBy;
  /**
   * Tokens whose first attempt is processed (delivered, logged) and answered only `lateMs` later:
   * past a client's timeout, that answer never arrives, and a client that resends delivers twice.
   */
  late: number;
  lateMs: number;
  /** Tokens refused as unauthorized, with the provider's real 401/403 body (web push: by push service). */
  unauthorized: number;
  /** Providers that take requests and never answer them, nor process them; `oauth`: FCM's token endpoint, so a sender hangs in its credential check. */
  stall: Set<EmulatedProvider | 'oauth'>;
  /** Every HTTP/2 stream is refused unread (REFUSED_STREAM) under a GOAWAY; the client closes the connection. */
  goawayStorm: boolean;
  /**
   * APNs connections drop to one concurrent stream after each rejection and back after each
   * acceptance, as APNs does (pushy #732): on unless turned off (`--no-apns-throttle`). Streams a
   * client sent over the lowered limit are refused, and a client may send them again.
   */
  apnsThrottle: boolean;
  /**
   * Every FCM and APNs stream is reset unanswered and unprocessed as soon as its headers arrive:
   * `refused-stream` as a server shedding load says it (RFC 9113 §8.7: provably not processed),
   * or `no-error`, as some proxies do, which says nothing of whether it was. A client that waits
   * for an answer or an error on such a stream waits for ever.
   */
  resetUnanswered: ResetCode | undefined;
  /** Retry-After sent with 429 and 503, in seconds. */
  retryAfterSeconds: number;
  /** Added before every answer. */
  latencyMs: number;
  /** Tokens (or web push endpoints) always treated as unregistered. */
  dead: Set<string>;
  /** Answers forced for particular tokens, on every attempt: for tests of each error a provider gives. */
  forced: Map<string, ForcedAnswer>;
  /**
   * What the FCM Data API says became of the messages it accepted (its messageOutcomePercents):
   * the emulator cannot know, so it says what it is told. Default: every one delivered.
   */
  deliveryOutcomes: Record<string, number>;
  /** The most entries the FCM Data API returns a page: its own default is 1,000; a small one makes a client page. */
  dataPageSize: number;
}

export type ForcedAnswer = { status: number; reason: string; retryAfterSeconds?: number };

export type Fate = 'accept' | 'late' | 'unregistered' | 'bad-device-token' | 'unauthorized' | 'too-many-requests' | 'unavailable' | 'drop' | { forced: ForcedAnswer };

export const defaultBehaviour: Behaviour = {
  seed: 'pushcast',
  unregistered: 0,
  badDeviceToken: 0,
  tooManyRequests: 0,
  unavailable: 0,
  dropConnection: 0,
  dropBy: 'goaway',
  late: 0,
  lateMs: 45_000,
  unauthorized: 0,
  stall: new Set(),
  goawayStorm: false,
  apnsThrottle: true,
  resetUnanswered: undefined,
  retryAfterSeconds: 1,
  latencyMs: 0,
  dead: new Set(),
  forced: new Map(),
  deliveryOutcomes: { delivered: 100 },
  dataPageSize: 1000,
};

/** A token's place in [0, 1): where it falls among the shares decides its fate. */
export function tokenPosition(seed: string, provider: EmulatedProvider, token: string): number {
  return digest48(`${seed}\u0000${provider}\u0000${token}`) / 2 ** 48;
}

/** The fate of one attempt (1 for the first) to send to a token. Transient failures strike the first attempt only. */
export function fateOf(behaviour: Behaviour, provider: EmulatedProvider, token: string, attempt: number): Fate {
  const forced = behaviour.forced.get(token);
  if (forced) return { forced };
  if (behaviour.dead.has(token)) return 'unregistered';
  let position = tokenPosition(behaviour.seed, provider, token);
  const bands: Array<[Fate, number]> = [
    ['unregistered', behaviour.unregistered],
    ['bad-device-token', provider === 'apns' ? behaviour.badDeviceToken : 0],
    ['unauthorized', behaviour.unauthorized],
    ['too-many-requests', behaviour.tooManyRequests],
    ['unavailable', behaviour.unavailable],
    ['drop', behaviour.dropConnection],
    ['late', behaviour.late],
  ];
  for (const [fate, share] of bands) {
    if (position < share) return !isTransient(fate) || attempt === 1 ? fate : 'accept';
    position -= share;
  }
  return 'accept';
}

/** Whether a token's fate depends on the attempt (it strikes the first only), so the emulator must count attempts for it. */
export function isTransient(fate: Fate): boolean {
  return fate === 'too-many-requests' || fate === 'unavailable' || fate === 'drop' || fate === 'late';
}
