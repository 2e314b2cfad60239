/** What the record says of a scheduled campaign's run (src/campaign/schedule.ts decides it). */
export interface ScheduleRecord {
  due: number;
  deferred: number;
  missedWindow: number;
  noTimezone: number;
  /** The earliest moment a deferred recipient is due: when to run again. */
  nextDueAt?: string;
  /** With --local: the same, per time zone, and how many of its recipients earlier runs settled. */
  byTimezone?: Record<string, { earlier?: number; due: number; deferred: number; missedWindow: number; nextDueAt?: string }>;
}
