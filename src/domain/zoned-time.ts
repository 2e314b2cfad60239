/**
 * Wall-clock times in IANA time zones, from the platform's own time-zone data (Intl): no offset
 * tables of ours. A wall time that does not exist (a spring-forward gap) moves forward by the gap;
 * one that occurs twice (autumn) is the earlier: what Temporal calls "compatible".
 */

export interface WallDate {
  year: number;
  /** 1 to 12. */
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
}

/** Whether the platform knows this IANA zone name. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock in `zone` at instant `ms`. */
export function wallClock(ms: number, zone: string): WallDate & { hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(ms))) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second };
}

/** The zone's offset from UTC at instant `ms`, in ms (Tehran: +3.5 h). */
export function offsetAt(ms: number, zone: string): number {
  const wall = wallClock(ms, zone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant at which `zone`'s clocks show this date and time (gaps forward, repeats the earlier). */
export function instantOf(date: WallDate, hour: number, minute: number, zone: string): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  // The offsets in force a day either side bound the answer; a zone changes offset at most once a day.
  const candidates = [...new Set([offsetAt(wall - 86_400_000, zone), offsetAt(wall, zone), offsetAt(wall + 86_400_000, zone)])]
    .map((offset) => wall - offset)
    .filter((ms) => {
      const shown = wallClock(ms, zone);
      return Date.UTC(shown.year, shown.month - 1, shown.day, shown.hour, shown.minute) === wall;
    })
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0];
  // In a gap: the time it would be with the offset from before the change, which the clocks skip past.
  return wall - offsetAt(wall - 86_400_000, zone);
}

/** The calendar day after `date`. */
export function nextDay(date: WallDate): WallDate {
  const next = new Date(Date.UTC(date.year, date.month - 1, date.day + 1));
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

/** The first instant at or after `from` when `zone`'s clocks show hour:minute. */
export function nextWallTime(from: number, hour: number, minute: number, zone: string): number {
  let date: WallDate = wallClock(from, zone);
  for (let i = 0; i < 3; i++) {
    const at = instantOf(date, hour, minute, zone);
    if (at >= from) return at;
    date = nextDay(date);
  }
  return instantOf(date, hour, minute, zone);
}

/** The zone this machine's clock is in (TZ, or the system's), as IANA names it. */
export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** An instant as a person reads it: `2026-12-07 08:29:10 +01:00`, in `zone` (the machine's by default). */
export function localTimeText(ms: number, zone = machineTimeZone()): string {
  const wall = wallClock(ms, zone);
  const offset = offsetAt(ms, zone) / 60_000;
  const two = (n: number) => String(n).padStart(2, '0');
  const sign = offset < 0 ? '-' : '+';
  const zoneText = `${sign}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  return `${wall.year}-${two(wall.month)}-${two(wall.day)} ${two(wall.hour)}:${two(wall.minute)}:${two(wall.second)} ${zoneText}`;
}
