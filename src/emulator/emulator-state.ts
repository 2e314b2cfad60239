import { createWriteStream, type WriteStream } from 'node:fs';
import { digest48, type EmulatedProvider as ProviderName } from './emulated.js';
import { fateOf, isTransient, type Behaviour, type Fate } from './fate.js';

/** One message the emulator accepted: what the provider would go on to deliver. */
export interface Delivered {
  provider: ProviderName;
  token: string;
  at: string;
  attempt: number;
  /** Provider headers that matter to grouping and delivery (collapse ids, TTL, urgency, push type…). */
  headers: Record<string, string>;
  /** The message as the device would get it: the FCM message, the APNs JSON, the decrypted web push JSON. */
  message: unknown;
}

/** Every answer the emulator gave, in order: what tests measure retries and Retry-After gaps with. */
export interface Attempt {
  provider: ProviderName;
  token: string;
  at: number;
  status: number | 'dropped';
  reason?: string;
}

export interface EmulatorStats {
  requests: Record<ProviderName, number>;
  /** Of those, the ones that came over HTTP/2 (web push may come over HTTP/1.1 too). */
  http2Requests: Record<ProviderName, number>;
  /** HTTP/2 connections that carried the provider's requests. */
  http2Connections: Record<ProviderName, number>;
  accepted: Record<ProviderName, number>;
  /** FCM validate_only requests that passed: checked, not delivered. */
  validated: number;
  /** Answers other than acceptance, by provider and reason. */
  rejected: Record<ProviderName, Record<string, number>>;
  /** Connections dropped on purpose. */
  drops: number;
  /** TLS connections clients opened (HTTP/2 sessions and HTTP/1.1 sockets): what a reconnect storm shows in. */
  connections: number;
  /** Requests refused or reset unread (a GOAWAY storm, --reset-unanswered). */
  refused: number;
  /** Requests a stalled provider took and never answered (nor processed). */
  stalled: number;
  /** Tokens accepted more than once: a sender's duplicate pushes. */
  duplicates: number;
  oauthTokensIssued: number;
  /** Distinct APNs provider tokens (JWTs) that verified: a sender shares one per key for up to an hour. */
  apnsProviderTokens: number;
}

/** The emulator's memory: attempts per token, what was accepted, counters and the JSONL log. */
export class EmulatorState {
  readonly delivered: Delivered[] = [];
  readonly attemptLog: Attempt[] = [];
  stats: EmulatorStats = emptyStats();
  private readonly attempts = new Map<string, number>();
  /** What was accepted, by a 48-bit digest of provider and token: a million tokens in a few tens of MB. */
  private acceptedTokens = new Set<number>();
  /** The APNs provider tokens seen, by a 48-bit digest. */
  private providerTokens = new Set<number>();
  /** The providers each HTTP/2 connection carried. */
  private connections = new WeakMap<object, Set<ProviderName>>();
  private readonly log?: WriteStream;

  constructor(
    readonly behaviour: Behaviour,
    private readonly options: { keepDelivered: boolean; logFile?: string },
  ) {
    if (options.logFile) this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  /** Decides this attempt's fate; attempts are counted only for tokens whose fate changes with them. */
  fate(provider: ProviderName, token: string): { fate: Fate; attempt: number } {
    this.stats.requests[provider]++;
    const first = fateOf(this.behaviour, provider, token, 1);
    if (!isTransient(first)) return { fate: first, attempt: 1 };
    const key = `${provider}\u0000${token}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    return { fate: fateOf(this.behaviour, provider, token, attempt), attempt };
  }

  /** A connection dropped on purpose instead of an answer. */
  drop(provider: ProviderName, token: string): void {
    this.stats.drops++;
    this.noteAttempt(provider, token, 'dropped');
  }

  /** Notes one answer, when the emulator keeps history (tests); benchmarks keep counters only. */
  noteAttempt(provider: ProviderName, token: string, status: number | 'dropped', reason?: string): void {
    if (this.options.keepDelivered) this.attemptLog.push({ provider, token, at: Date.now(), status, reason });
  }

  /** Whether anyone reads what was accepted (tests, --log): if not, a message need not be decoded to be taken. */
  get keepsMessages(): boolean {
    return this.options.keepDelivered || this.log !== undefined;
  }

  accept(entry: Omit<Delivered, 'at'>): void {
    this.noteAttempt(entry.provider, entry.token, 200);
    if (entry.provider === 'fcm') this.countFcmDelivery(entry.message);
    this.stats.accepted[entry.provider]++;
    const accepted = digest48(`${entry.provider}\u0000${entry.token}`);
    if (this.acceptedTokens.has(accepted)) this.stats.duplicates++;
    else this.acceptedTokens.add(accepted);
    const delivered = { ...entry, at: new Date().toISOString() };
    if (this.options.keepDelivered) this.delivered.push(delivered);
    this.log?.write(`${JSON.stringify(delivered)}\n`);
  }

  /** A request that came over HTTP/2, on `connection` (its session). */
  overHttp2(provider: ProviderName, connection: object): void {
    this.stats.http2Requests[provider]++;
    let carried = this.connections.get(connection);
    if (!carried) this.connections.set(connection, (carried = new Set()));
    if (!carried.has(provider)) this.stats.http2Connections[provider]++;
    carried.add(provider);
  }

  /** An APNs provider token that verified. */
  sawProviderToken(jwt: string): void {
    const seen = digest48(jwt);
    if (this.providerTokens.has(seen)) return;
    this.providerTokens.add(seen);
    this.stats.apnsProviderTokens++;
  }

  reject(provider: ProviderName, reason: string, token = '', status = 0): void {
    this.noteAttempt(provider, token, status, reason);
    const counts = this.stats.rejected[provider];
    counts[reason] = (counts[reason] ?? 0) + 1;
  }

  private countFcmDelivery(message: unknown): void {
    // FCM reads its JSON as proto3 does: either spelling of a field.
    const options = ((message as Record<string, unknown> | undefined)?.fcm_options ?? (message as Record<string, unknown> | undefined)?.fcmOptions ?? {}) as Record<
      string,
      unknown
    >;
    const label = String(options.analytics_label ?? options.analyticsLabel ?? '');
    const date = losAngelesDay.format(new Date());
    const key = `${date}\u0000${label}`;
    const entry = this.fcmAcceptedByDayAndLabel.get(key) ?? { date, label, count: 0 };
    entry.count++;
    this.fcmAcceptedByDayAndLabel.set(key, entry);
  }

  /**
   * FCM messages accepted, by the day (America/Los_Angeles, as FCM's delivery data counts days)
   * and analytics label ("" for none): what the FCM Data API reports (handle-fcm-data.ts).
   */
  readonly fcmAcceptedByDayAndLabel = new Map<string, { date: string; label: string; count: number }>();

  /** Forgets everything seen so far, so one emulator can serve several test cases. */
  reset(): void {
    this.fcmAcceptedByDayAndLabel.clear();
    this.delivered.length = 0;
    this.attemptLog.length = 0;
    this.attempts.clear();
    this.stats = emptyStats();
    this.acceptedTokens.clear();
    this.providerTokens.clear();
    this.connections = new WeakMap();
  }

  async close(): Promise<void> {
    if (this.log) await new Promise<void>((resolve) => this.log!.end(resolve));
  }
}

function emptyStats(): EmulatorStats {
  return {
    requests: { fcm: 0, apns: 0, webpush: 0 },
    http2Requests: { fcm: 0, apns: 0, webpush: 0 },
    http2Connections: { fcm: 0, apns: 0, webpush: 0 },
    accepted: { fcm: 0, apns: 0, webpush: 0 },
    validated: 0,
    rejected: { fcm: {}, apns: {}, webpush: {} },
    drops: 0,
    connections: 0,
    refused: 0,
    stalled: 0,
    duplicates: 0,
    oauthTokensIssued: 0,
    apnsProviderTokens: 0,
  };
}

/** YYYY-MM-DD in America/Los_Angeles: FCM's delivery data ends its days there. */
const losAngelesDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit' });
