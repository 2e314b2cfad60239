import type { CliIo } from './io.js';

/**
 * The clock scheduled campaigns read. PUSHCAST_TEST_NOW (an ISO instant) is the one test seam: it
 * says what time it is when the process starts, and the clock runs on from there in real time,
 * so a test can run a day of hourly cron jobs without waiting for one. Read here and nowhere else.
 */
export function scheduleClock(io: CliIo): () => number {
  const given = io.env.PUSHCAST_TEST_NOW;
  if (!given) return Date.now;
  const start = Date.parse(given);
  if (Number.isNaN(start)) throw new Error(`PUSHCAST_TEST_NOW is not an ISO instant: "${given}"`);
  const realStart = Date.now();
  return () => start + (Date.now() - realStart);
}
