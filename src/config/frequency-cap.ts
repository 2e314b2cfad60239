import { quoted } from '../domain/quote-value.js';
import { parseDuration } from './parse-duration.js';

/** `--cap 2/24h`: at most this many pushes from any campaign within the window. */
export interface FrequencyCapRule {
  pushes: number;
  windowSeconds: number;
  /** As given, for the record and messages: "2/24h". */
  text: string;
}

/** The registry keeps the claims a cap counts this long (claimRetentionDays): a longer window would count what is gone. */
const longestWindowDays = 90;

/**
 * Reads a frequency cap, "PUSHES/WINDOW" with the window's unit said (2/24h, 1/7d, 3/1w):
 * undefined for anything else, a window of "24" included, which could be hours or days.
 */
export function parseFrequencyCap(value: string): FrequencyCapRule | string {
  const match = /^\s*(\d{1,4})\s*\/\s*(\d+\s*[smhdw])\s*$/.exec(value);
  const windowSeconds = match ? parseDuration(match[2].replace(/\s+/g, '')) : undefined;
  if (!match || windowSeconds === undefined || Number(match[1]) < 1 || windowSeconds < 60) {
    return `a cap is PUSHES/WINDOW with the window's unit, such as 2/24h, 1/7d or 5/1w (at least one push, a window of a minute or more), not ${quoted(value)}`;
  }
  if (windowSeconds > longestWindowDays * 86_400) return `a cap's window is at most ${longestWindowDays} days (the registry keeps that much send history), not ${quoted(value)}`;
  return { pushes: Number(match[1]), windowSeconds, text: value.replace(/\s+/g, '') };
}
