/** A Retry-After header in milliseconds: seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | number | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value);
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
