import type { DeviceRecipient } from '../domain/recipient.js';
import type { ScheduleRecord } from '../domain/schedule-record.js';
import { quoted } from '../domain/quote-value.js';
import { instantOf, isTimeZone, nextWallTime, wallClock, type WallDate } from '../domain/zoned-time.js';

/** When a campaign's recipients are due: `--at`, `--local`, `--quiet-hours`, `--spread`, `--late-limit`. */
export interface ScheduleSettings {
  /** `--at`: a moment (with an offset), a wall date and time, or a time of day. */
  at?: { kind: 'instant'; ms: number } | { kind: 'wall'; date?: WallDate; hour: number; minute: number };
  /** `--local`: a wall `at` is read in each recipient's own time zone. */
  local: boolean;
  /** `--timezone`: the zone a wall `at` is read in without --local. */
  timezone?: string;
  /** For recipients whose row and registry device name no zone. */
  defaultTimezone?: string;
  /** Local minutes of the day, start inclusive, end exclusive; may wrap midnight (22:00-08:00). */
  quietHours?: { start: number; end: number };
  /** A recipient whose moment passed longer ago than this is not sent: `missed-window`. */
  lateLimitMs: number;
  /** Sends spread evenly over this span after each moment (by the recipient's stable hash, so every run agrees). */
  spreadMs?: number;
  /**
   * --wait: recipients due within this long are held by the run and sent at their moment, instead
   * of deferred to the next run (so a --spread is even, not in steps of one pass).
   */
  holdMs?: number;
  /** The campaign's first run started then: a time of day means the next one after it; --spread alone starts from it. */
  anchor: number;
}

export type Timing =
  | { kind: 'due'; dueAt: number; lateMs: number }
  | { kind: 'deferred'; dueAt: number }
  | { kind: 'hold'; dueAt: number; inMs: number }
  | { kind: 'skip'; reason: 'missed-window' | 'no-timezone'; detail: string };

/**
 * Decides, recipient by recipient and with no memory of the others, whether each is due now,
 * later, or too late: one pass over the audience per run, in constant memory, the journal being
 * the memory of who was done. Each recipient's moment depends only on the settings, its zone and
 * its hash, so every run (cron or --wait) computes the same one.
 */
export class Schedule {
  private readonly record: ScheduleRecord = { due: 0, deferred: 0, missedWindow: 0, noTimezone: 0 };
  private nextDue = Infinity;
  private held = 0;
  private readonly zones = new Map<string, { earlier: number; due: number; deferred: number; missedWindow: number; next: number }>();

  constructor(
    private readonly settings: ScheduleSettings,
    private readonly now: () => number,
  ) {}

  judge(recipient: DeviceRecipient): Timing {
    const { settings } = this;
    const needsZone = settings.local || settings.quietHours !== undefined;
    const zone = recipient.timezone ?? settings.defaultTimezone;
    if (needsZone && (!zone || !isTimeZone(zone))) {
      this.record.noTimezone++;
      return {
        kind: 'skip',
        reason: 'no-timezone',
        detail: zone ? `unknown time zone ${quoted(zone)}` : 'no time zone: no timezone column, none in the registry, and no --default-timezone',
      };
    }
    let moment = this.momentOf(zone);
    if (settings.spreadMs) moment += Math.floor(spreadShare(recipient) * settings.spreadMs);
    if (settings.quietHours && zone) moment = outOfQuietHours(moment, settings.quietHours, zone);
    const now = this.now();
    const byZone = settings.local && zone ? this.zone(zone) : undefined;
    if (moment > now && settings.holdMs && moment - now <= settings.holdMs && this.held < holdLimit) {
      this.held++;
      this.record.due++;
      if (byZone) byZone.due++;
      return { kind: 'hold', dueAt: moment, inMs: moment - now };
    }
    if (moment > now) {
      this.record.deferred++;
      this.nextDue = Math.min(this.nextDue, moment);
      if (byZone) {
        byZone.deferred++;
        byZone.next = Math.min(byZone.next, moment);
      }
      return { kind: 'deferred', dueAt: moment };
    }
    if (now - moment > settings.lateLimitMs) {
      this.record.missedWindow++;
      if (byZone) byZone.missedWindow++;
      return { kind: 'skip', reason: 'missed-window', detail: `due at ${new Date(moment).toISOString()}, more than --late-limit after it` };
    }
    this.record.due++;
    if (byZone) byZone.due++;
    return { kind: 'due', dueAt: moment, lateMs: now - moment };
  }

  /**
   * A recipient an earlier run settled: not judged again, but counted in its zone, so that each
   * run's table lists every zone of the campaign, the ones already done included.
   */
  settledEarlier(recipient: DeviceRecipient): void {
    const zone = recipient.timezone ?? this.settings.defaultTimezone;
    if (this.settings.local && zone && isTimeZone(zone)) this.zone(zone).earlier++;
  }

  summary(): ScheduleRecord {
    const record: ScheduleRecord = { ...this.record };
    if (this.nextDue < Infinity) record.nextDueAt = new Date(this.nextDue).toISOString();
    if (this.settings.local) {
      record.byTimezone = Object.fromEntries(
        [...this.zones].map(([zone, counts]) => [
          zone,
          {
            earlier: counts.earlier,
            due: counts.due,
            deferred: counts.deferred,
            missedWindow: counts.missedWindow,
            ...(counts.next < Infinity ? { nextDueAt: new Date(counts.next).toISOString() } : {}),
          },
        ]),
      );
    }
    return record;
  }

  /** The moment `--at` names for a recipient in `zone`, before spreading and quiet hours. */
  private momentOf(zone: string | undefined): number {
    const { at, anchor } = this.settings;
    if (!at) return anchor;
    if (at.kind === 'instant') return at.ms;
    const wallZone = this.settings.local ? zone! : (this.settings.timezone ?? 'UTC');
    return at.date ? instantOf(at.date, at.hour, at.minute, wallZone) : nextWallTime(anchor, at.hour, at.minute, wallZone);
  }

  private zone(zone: string) {
    let counts = this.zones.get(zone);
    if (!counts) this.zones.set(zone, (counts = { earlier: 0, due: 0, deferred: 0, missedWindow: 0, next: Infinity }));
    return counts;
  }
}

/** Recipients one run holds in memory for their moment: beyond this, the next run sends them. */
const holdLimit = 10_000;

/**
 * Where in the spread a recipient falls, 0 to 1: from its stable hash, so every run agrees. Both
 * halves, finished with murmur3's avalanche: FNV's high bits alone bunch up for tokens that differ
 * only at their end.
 */
function spreadShare(recipient: DeviceRecipient): number {
  let h = (recipient.hash[0] ^ Math.imul(recipient.hash[1], 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/** A moment inside the quiet hours (local time) moves to their end. */
function outOfQuietHours(moment: number, quiet: { start: number; end: number }, zone: string): number {
  const wall = wallClock(moment, zone);
  const minutes = wall.hour * 60 + wall.minute;
  const inside = quiet.start <= quiet.end ? minutes >= quiet.start && minutes < quiet.end : minutes >= quiet.start || minutes < quiet.end;
  return inside ? nextWallTime(moment, Math.floor(quiet.end / 60), quiet.end % 60, zone) : moment;
}
