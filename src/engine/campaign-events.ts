import type { FinalEvent, Outcome } from '../domain/outcome.js';
import type { DeviceRecipient, ProviderName } from '../domain/recipient.js';
import { countFinal, emptyTally, type Tally } from '../domain/tally.js';
import type { JournalWriter } from '../journal/journal.js';

/** The states a recipient can settle in: the journal keeps them, and no later run sends it again. */
type SettledEvent = FinalEvent & { kind: 'accepted' | 'invalid' | 'rejected' | 'failed'; recipient: NonNullable<FinalEvent['recipient']> };
/** A recipient not delivered and not given up on. */
type ToSendLaterEvent = FinalEvent & { kind: 'failed' | 'skipped'; recipient: NonNullable<FinalEvent['recipient']> };

/**
 * Where each recipient's words in a run go: the tally, the journal, and whoever listens (the
 * report, the device registry, the progress line). Every journal line the engine writes is
 * written here (a batch leaving, its answer, a retry, a last word), each way with its own method,
 * so what the journal says and what the tally counts cannot drift apart.
 */
export class CampaignEvents {
  readonly tally: Tally = emptyTally();

  constructor(
    private readonly journal: JournalWriter | undefined,
    private readonly listener: ((event: FinalEvent) => void) | undefined,
  ) {}

  /**
   * A batch is about to leave: its `sent` line first, durably, so that after a crash its
   * recipients are known to be maybe sent. Its number, for its answer's line; undefined without a
   * journal. Throws when the journal cannot be written (the writer stops the campaign).
   */
  async leaving(provider: ProviderName, recipients: readonly DeviceRecipient[]): Promise<number | undefined> {
    return this.journal?.sent(provider, recipients);
  }

  /** A journaled batch was answered: its `ok` line says which of its recipients were accepted. */
  answered(batch: number | undefined, outcomes: readonly Outcome[]): void {
    if (batch === undefined || !this.journal) return;
    const places: number[] = [];
    outcomes.forEach((outcome, place) => {
      if (outcome.kind === 'accepted') places.push(place);
    });
    this.journal.accepted(batch, places);
  }

  /** Sent again after a wait: journaled as a retry, so a crash in the meantime leaves it to a later run. */
  retrying(recipient: DeviceRecipient): void {
    this.journal?.retry(recipient);
  }

  /** Its last word: journaled, so a later run counts it and never sends it again. */
  settled(event: SettledEvent): void {
    const { recipient } = event;
    this.journal?.final({
      k: recipient.key,
      p: recipient.provider,
      o: event.kind,
      r: event.reason,
      d: event.detail,
      line: event.line,
      id: event.id,
      w: event.wrongSender,
      v: recipient.variant,
      // The prune list needs the token itself; nothing else in the journal does.
      ...(event.kind === 'invalid' ? { token: recipient.token, user: recipient.userId } : {}),
    });
    this.count(event);
  }

  /** Accepted, and journaled already by its batch's `ok` line (journal.ts). */
  accepted(event: SettledEvent & { kind: 'accepted' }): void {
    this.count(event);
  }

  /** Not delivered, and not given up on (the sender was wrong, the campaign stopped): journaled so a later run sends it. */
  toSendLater(event: ToSendLaterEvent): void {
    this.journal?.retry(event.recipient);
    this.count(event);
  }

  /** Settled by an earlier run (or maybe sent by one): counted as it was, the journal left as it is. */
  carried(event: FinalEvent): void {
    this.tally.earlier++;
    this.count({ ...event, earlier: true });
  }

  /**
   * Counted in this run, the journal left as it is: a bad row, an answer an earlier run settled,
   * a recipient that may have been delivered (its `sent` line says so), or one already journaled
   * as a retry.
   */
  counted(event: FinalEvent): void {
    this.count(event);
  }

  private count(event: FinalEvent): void {
    countFinal(this.tally, event.provider, event.kind, event.reason);
    this.listener?.(event);
  }
}
