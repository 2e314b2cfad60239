import { describe, expect, it } from 'vitest';
import { Schedule, type ScheduleSettings } from '../../src/campaign/schedule.js';
import { instantOf, nextWallTime } from '../../src/domain/zoned-time.js';
import { device } from '../helpers/audience.js';

const at = (zone: string, date: string, time: string) => {
  const [year, month, day] = date.split('-').map(Number);
  const [hour, minute] = time.split(':').map(Number);
  return new Date(instantOf({ year, month, day }, hour, minute, zone)).toISOString();
};

describe('a wall time in a time zone, as an instant', () => {
  it.each([
    ['09:00 on the day New York springs forward', 'America/New_York', '2026-03-08', '09:00', '2026-03-08T13:00:00.000Z'],
    ['02:30 that does not exist in New York (spring): forward by the gap', 'America/New_York', '2026-03-08', '02:30', '2026-03-08T07:30:00.000Z'],
    ['01:30 that occurs twice in New York (autumn): the earlier', 'America/New_York', '2026-11-01', '01:30', '2026-11-01T05:30:00.000Z'],
    ['09:00 the day after New York falls back', 'America/New_York', '2026-11-02', '09:00', '2026-11-02T14:00:00.000Z'],
    ['02:30 that does not exist in Berlin (spring)', 'Europe/Berlin', '2026-03-29', '02:30', '2026-03-29T01:30:00.000Z'],
    ['02:30 that occurs twice in Berlin (autumn): the earlier', 'Europe/Berlin', '2026-10-25', '02:30', '2026-10-25T00:30:00.000Z'],
    ['Tehran, +03:30 with no DST since 2022, in what was its summer', 'Asia/Tehran', '2026-06-21', '09:00', '2026-06-21T05:30:00.000Z'],
    ['Tehran in winter', 'Asia/Tehran', '2026-12-01', '09:00', '2026-12-01T05:30:00.000Z'],
    ['Moscow, +03:00 all year', 'Europe/Moscow', '2026-07-01', '09:00', '2026-07-01T06:00:00.000Z'],
    ['Kathmandu, +05:45', 'Asia/Kathmandu', '2026-12-01', '09:00', '2026-12-01T03:15:00.000Z'],
    ['Chatham in its winter, +12:45', 'Pacific/Chatham', '2026-07-01', '09:00', '2026-06-30T20:15:00.000Z'],
    ['Chatham in its summer, +13:45: the day before in UTC', 'Pacific/Chatham', '2026-12-01', '09:00', '2026-11-30T19:15:00.000Z'],
    ['Sydney in its summer (DST), +11', 'Australia/Sydney', '2026-12-01', '09:00', '2026-11-30T22:00:00.000Z'],
  ])('%s', (_what, zone, date, time, utc) => {
    expect(at(zone, date, time)).toBe(utc);
  });

  it('the next 09:00 after a moment is today when it has not passed, tomorrow when it has', () => {
    const tehranMorning = Date.parse('2026-12-01T04:00:00Z'); // 07:30 in Tehran
    expect(new Date(nextWallTime(tehranMorning, 9, 0, 'Asia/Tehran')).toISOString()).toBe('2026-12-01T05:30:00.000Z');
    const tehranNoon = Date.parse('2026-12-01T08:30:00Z'); // 12:00 in Tehran
    expect(new Date(nextWallTime(tehranNoon, 9, 0, 'Asia/Tehran')).toISOString()).toBe('2026-12-02T05:30:00.000Z');
  });
});

describe('the schedule of one recipient', () => {
  const base: ScheduleSettings = {
    local: true,
    lateLimitMs: 2 * 3600_000,
    anchor: Date.parse('2026-12-01T00:00:00Z'),
    at: { kind: 'wall', date: { year: 2026, month: 12, day: 1 }, hour: 9, minute: 0 },
  };
  const judge = (settings: Partial<ScheduleSettings>, now: string, timezone?: string, token = 'r') =>
    new Schedule({ ...base, ...settings }, () => Date.parse(now)).judge(device('fcm', `${token}-${'x'.repeat(150)}`, { timezone }));

  it('is deferred before its local moment, due in it, and missed past --late-limit', () => {
    expect(judge({}, '2026-12-01T05:00:00Z', 'Asia/Tehran')).toEqual({ kind: 'deferred', dueAt: Date.parse('2026-12-01T05:30:00Z') });
    expect(judge({}, '2026-12-01T06:00:00Z', 'Asia/Tehran')).toEqual({ kind: 'due', dueAt: Date.parse('2026-12-01T05:30:00Z'), lateMs: 30 * 60_000 });
    expect(judge({}, '2026-12-01T08:00:00Z', 'Asia/Tehran')).toMatchObject({ kind: 'skip', reason: 'missed-window' });
  });

  it('has no moment without a time zone, unless --default-timezone gives one', () => {
    expect(judge({}, '2026-12-01T06:00:00Z')).toMatchObject({ kind: 'skip', reason: 'no-timezone' });
    expect(judge({}, '2026-12-01T06:00:00Z', 'Mars/Olympus')).toMatchObject({ kind: 'skip', reason: 'no-timezone', detail: 'unknown time zone "Mars/Olympus"' });
    expect(judge({ defaultTimezone: 'Asia/Tehran' }, '2026-12-01T06:00:00Z')).toMatchObject({ kind: 'due' });
  });

  it('moves a moment inside the quiet hours to their end, in local time', () => {
    const early = { at: { kind: 'wall' as const, date: { year: 2026, month: 12, day: 1 }, hour: 7, minute: 0 }, quietHours: { start: 22 * 60, end: 8 * 60 } };
    // 07:00 in Berlin is quiet: 08:00 local, 07:00 UTC.
    expect(judge(early, '2026-12-01T05:00:00Z', 'Europe/Berlin')).toEqual({ kind: 'deferred', dueAt: Date.parse('2026-12-01T07:00:00Z') });
  });

  it('spreads moments over --spread by the recipient, the same in every run', () => {
    const spread = { spreadMs: 2 * 3600_000 };
    const first = judge(spread, '2026-12-01T00:00:00Z', 'UTC', 'a');
    expect(judge(spread, '2026-12-01T01:00:00Z', 'UTC', 'a')).toMatchObject({ dueAt: (first as { dueAt: number }).dueAt });
    const moments = Array.from({ length: 200 }, (_, i) => (judge(spread, '2026-12-01T00:00:00Z', 'UTC', `s${i}`) as { dueAt: number }).dueAt - Date.parse('2026-12-01T09:00:00Z'));
    expect(Math.min(...moments)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...moments)).toBeLessThan(2 * 3600_000);
  });
});
