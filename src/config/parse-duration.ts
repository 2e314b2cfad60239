const durationUnits: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Whole seconds from a number of seconds or a duration such as "90", "30s", "2m", "12h", "7d", "2w". */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+)\s*([smhdw]?)\s*$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * durationUnits[match[2] || 's'];
}
