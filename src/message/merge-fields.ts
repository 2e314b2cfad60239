import { isPlainObject } from './load-template.js';

/**
 * Merges a template's raw provider block over a built payload: objects merge key by key,
 * anything else (arrays included) replaces. Neither input is changed.
 */
export function mergeFields<T extends Record<string, unknown>>(base: T, override: Record<string, unknown> | undefined): T {
  if (!override) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeFields(current, value) : value;
  }
  return merged as T;
}

/** A copy without undefined fields, so payloads print and compare as providers receive them. */
export function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropUndefined) as T;
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const clean = dropUndefined(item);
    if (isPlainObject(clean) && Object.keys(clean).length === 0) continue;
    out[key] = clean;
  }
  return out as T;
}
