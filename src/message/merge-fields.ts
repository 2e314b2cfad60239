import { isPlainObject } from '../domain/plain-object.js';

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

/** A copy without undefined fields (and objects left empty), so payloads print and compare as providers receive them. */
export function dropUndefined<T>(value: T): T {
  const clean = withoutUndefined(value);
  return (clean === emptyObject ? {} : clean) as T;
}

/**
 * A copy without its own undefined fields, the nested objects as they are: for a payload's outer
 * object, whose nested parts were cleaned when they were built (one deep copy a message, not two).
 */
export function definedFields<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key in value) if (value[key] !== undefined) out[key] = value[key];
  return out as T;
}

/** What withoutUndefined makes of an object left with no fields: its parent drops it. */
const emptyObject = Object.freeze({});

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => dropUndefined(item));
  if (!isPlainObject(value)) return value;
  // for…in, not Object.entries: this runs for every recipient, and the pairs were a measurable
  // share of the garbage a send makes.
  const out: Record<string, unknown> = {};
  let empty = true;
  for (const key in value) {
    const item = value[key];
    if (item === undefined) continue;
    const clean = typeof item === 'object' && item !== null ? withoutUndefined(item) : item;
    if (clean === emptyObject) continue;
    out[key] = clean;
    empty = false;
  }
  return empty ? emptyObject : out;
}
