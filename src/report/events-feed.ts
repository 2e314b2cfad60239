import type { Writable } from 'node:stream';
import type { FinalEvent } from '../domain/outcome.js';

/** One line of the feed (docs/report.md#the-events-feed). */
export interface FeedLine {
  at: string;
  campaign: string;
  /** The audience line (or, for a --channel send, the registry device's id: `lineIs` in the report). */
  line: number;
  provider?: string;
  outcome: FinalEvent['kind'];
  reason?: string;
  detail?: string;
  /** FCM registration token, APNs device token, or web push endpoint (never its keys). */
  token?: string;
  user?: string;
  /** An A/B campaign's variant the recipient got. */
  variant?: string;
  /** The provider's id of an accepted message. */
  id?: string;
  attempts: number;
  /** Settled by an earlier run of the campaign: this run counts it and sends nothing. */
  earlier?: true;
  /** Not reached by a run that stopped: it goes with --failed-out and a later run. */
  unreached?: true;
}

/**
 * `--events`: one JSON line per recipient as it is counted, the moment it settles, so a backend can
 * prune an invalid token during a long campaign instead of after it. Every recipient the report
 * counts gets exactly one line (those an earlier run settled, marked `earlier`), so the lines by
 * `outcome` add up to the report's counts. The feed is a copy: the journal stays the campaign's
 * memory, and a feed that cannot be written is said once and dropped while the campaign goes on.
 */
export class EventsFeed {
  private failed = false;

  /** `out` is the caller's to end: a --wait campaign's runs write to one feed. */
  constructor(
    private readonly out: Writable,
    private readonly campaign: string,
    private readonly warn: (text: string) => void,
  ) {
    if (out.errored) this.fail(out.errored);
    else out.on('error', (error) => this.fail(error));
  }

  onFinal(event: FinalEvent): void {
    if (this.failed) return;
    const { recipient } = event;
    const line: FeedLine = {
      at: new Date().toISOString(),
      campaign: this.campaign,
      line: event.line,
      ...(event.provider ? { provider: event.provider } : {}),
      outcome: event.kind,
      ...(event.reason ? { reason: event.reason } : {}),
      ...(event.detail ? { detail: event.detail } : {}),
      ...(recipient ? { token: recipient.token } : {}),
      ...(recipient?.userId ? { user: recipient.userId } : {}),
      ...(recipient?.variant !== undefined ? { variant: recipient.variant } : {}),
      ...(event.id ? { id: event.id } : {}),
      attempts: event.attempts,
      ...(event.earlier ? { earlier: true as const } : {}),
      ...(event.unreached ? { unreached: true as const } : {}),
    };
    // JSON leaves DEL, the C1 controls and the line separators raw: escaped, a line stays one line, on a terminal too.
    this.out.write(`${JSON.stringify(line).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`);
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.warn(`the events feed stopped: ${error.message}; the campaign went on, and its report and journal count every recipient`);
  }
}
