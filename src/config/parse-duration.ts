const durationUnits: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Whole seconds from a number of seconds or a duration such as "90", "30s", "2m", "12h", "7d", "2w". */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+)\s*([smhdw]?)\s*$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * durationUnits[match[2] || 's'];
}

/** How an age is written, for the messages that refuse one. */
export const ageForms = 'an age in whole days (90 or 90d), or in weeks, hours, minutes or seconds with their unit (12w, 36h, 45m, 30s), up to 100 years';

/** Longer ago than any device was seen, and short enough to be a date to count back to. */
const longestAgeDays = 36_525;

/**
 * How long ago a device was last seen, in days: a bare number is days ("90", as LeanCloud counts
 * a device's validity), "90d", "12w" and "36h" say their unit. Undefined for anything else ("90x",
 * "-5", "1.5", more than 100 years). An upper-case D, H or W is read too, not M: months or minutes?
 */
export function parseAgeDays(value: string): number | undefined {
  const text = value.trim();
  const seconds = /^\d+$/.test(text) ? Number(text) * durationUnits.d : parseDuration(text.replace(/[DHW]$/, (unit) => unit.toLowerCase()));
  if (seconds === undefined || seconds > longestAgeDays * durationUnits.d) return undefined;
  return seconds / durationUnits.d;
}
