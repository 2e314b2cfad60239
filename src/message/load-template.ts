import { readFile } from 'node:fs/promises';
import { InputError, describeFileError } from '../errors.js';
import { locateJsonError } from '../domain/locate-syntax-error.js';
import { oneLine, quoted } from '../domain/quote-value.js';
import { parseDuration } from '../config/parse-duration.js';
import { limits } from './limits.js';
import { checkLiveActivity, liveActivityAps } from './live-activity.js';
import { isPlainObject } from '../domain/plain-object.js';

export const messageKinds = ['notification', 'data'] as const;
export const priorities = ['high', 'normal'] as const;
export const urgencies = ['very-low', 'low', 'normal', 'high'] as const;

/** The fields a locale variant may replace. */
export interface TemplateContent {
  title?: string;
  body?: string;
  data?: Record<string, string>;
  image?: string;
  link?: string;
  sound?: string;
  badge?: number | string;
}

/**
 * A provider-neutral message, as written in the template file. Every string may hold
 * `{{variable}}` placeholders filled from the audience row.
 */
export interface MessageTemplate extends TemplateContent {
  /** `notification` is shown to the user; `data` is delivered silently to the app. */
  kind: (typeof messageKinds)[number];
  /** Seconds the provider keeps trying to deliver; a number or "30m", "12h", "7d". */
  ttl?: number;
  /** Unset: each provider's own default (FCM normal for data, high for notifications; APNs 10; web push normal). */
  priority?: (typeof priorities)[number];
  urgency?: (typeof urgencies)[number];
  /** Grouping key: FCM collapse_key, APNs apns-collapse-id, Web Push Topic. A newer message replaces an older one. */
  group?: string;
  /** Display thread: APNs thread-id, Android notification tag. */
  thread?: string;
  /** Variants by locale ("fa", "ru", "zh-TW"), merged over the base for recipients with that locale. */
  locales?: Record<string, TemplateContent>;
  /** Raw per-provider fields, merged last into what each provider receives. */
  fcm?: Record<string, unknown>;
  apns?: Record<string, unknown>;
  webpush?: Record<string, unknown>;
}

/** Provider limits on how long a message may wait: FCM and web push both cap it at 28 days. */
export const maxTtlSeconds = 28 * 24 * 3600;

export const contentKeys = ['title', 'body', 'data', 'image', 'link', 'sound', 'badge'] as const;
/** Every field a template may have: schema/message-v1.schema.json describes the same (test/message-schema.test.ts). */
export const templateKeys = new Set<string>([...contentKeys, 'kind', 'ttl', 'priority', 'urgency', 'group', 'thread', 'locales', 'fcm', 'apns', 'webpush', '$schema']);

/** Reads a template file; `path` is how messages name it, `file` where it is read from. */
export async function loadTemplate(path: string, file = path): Promise<MessageTemplate> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`message ${describeFileError(path, error)}`, { cause: error });
  }
  const json = text.replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    // Where, as a placeholder's syntax error is shown: the line, and a caret under the column.
    const at = locateJsonError(json);
    const where = at ? `line ${at.line}, column ${at.column}: ${at.reason}\n${at.excerpt.replace(/^/gm, '    ')}` : (error as Error).message;
    throw new InputError(`message ${path}: not valid JSON: ${where}`, { cause: error });
  }
  const problems = checkTemplate(parsed);
  if (problems.length > 0) {
    // One line a problem: a key of the file that holds a line break cannot start one of its own.
    throw new InputError(`message ${path}:\n${problems.map((problem) => `  - ${oneLine(problem)}`).join('\n')}`);
  }
  return normalizeTemplate(parsed as Record<string, unknown>);
}

/** Every problem with the template at once, so one edit fixes them all. */
export function checkTemplate(value: unknown): string[] {
  if (!isPlainObject(value)) return ['the template must be a JSON object'];
  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (!templateKeys.has(key)) problems.push(`unknown field ${quoted(key)} (known: ${[...templateKeys].filter((k) => k !== '$schema').join(', ')})`);
  }
  const kind = value.kind ?? 'notification';
  if (!messageKinds.includes(kind as never)) problems.push(`kind must be "notification" or "data", not ${JSON.stringify(kind)}`);
  if (value.priority !== undefined && !priorities.includes(value.priority as never)) {
    problems.push(`priority must be "high" or "normal", not ${JSON.stringify(value.priority)}`);
  }
  if (value.urgency !== undefined && !urgencies.includes(value.urgency as never)) {
    problems.push(`urgency must be one of ${urgencies.join(', ')}, not ${JSON.stringify(value.urgency)}`);
  }
  if (value.ttl !== undefined) {
    const seconds = parseDuration(value.ttl);
    if (seconds === undefined) problems.push(`ttl must be seconds or a duration such as "30m", "12h", "7d", not ${JSON.stringify(value.ttl)}`);
    else if (seconds > maxTtlSeconds) problems.push(`ttl is ${seconds}s; providers keep a message at most 28 days (${maxTtlSeconds}s)`);
  }
  for (const key of ['group', 'thread'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') problems.push(`${key} must be a string`);
  }
  checkContent(value, '', problems);
  checkLiveActivity(value, problems);
  // A Live Activity shows its content state: an alert (title, body) is optional.
  const liveActivity = liveActivityAps(value.apns) !== undefined;
  if (kind === 'notification' && !liveActivity && !hasText(value) && !Object.values(asObject(value.locales)).some(hasText)) {
    problems.push('a notification needs a title or a body (use "kind": "data" for a silent data message)');
  }
  if (kind === 'data') {
    // Apple: a background notification carries content-available and nothing else; FCM drops them too.
    const shown = (variant: Record<string, unknown>) => visibleKeys.filter((key) => variant[key] !== undefined);
    const lost = [...new Set([...shown(value), ...Object.values(asObject(value.locales)).flatMap((variant) => shown(asObject(variant)))])];
    if (lost.length > 0) problems.push(`a data message is not shown, so ${lost.join(', ')} would be lost: put them under "data" or use "kind": "notification"`);
  }
  if (value.locales !== undefined) {
    if (!isPlainObject(value.locales)) problems.push('locales must be an object such as {"fa": {"title": "…"}}');
    else {
      for (const [locale, variant] of Object.entries(value.locales)) {
        if (!isPlainObject(variant)) {
          problems.push(`locales.${locale} must be an object`);
          continue;
        }
        for (const key of Object.keys(variant)) {
          if (!(contentKeys as readonly string[]).includes(key)) problems.push(`locales.${locale}: unknown field ${quoted(key)} (a variant may set ${contentKeys.join(', ')})`);
        }
        checkContent(variant, `locales.${locale}.`, problems);
      }
    }
  }
  for (const provider of ['fcm', 'apns', 'webpush'] as const) {
    if (value[provider] !== undefined && !isPlainObject(value[provider])) problems.push(`${provider} must be an object of raw ${provider} fields`);
  }
  const fcm = asObject(value.fcm);
  for (const [where, data] of [
    ['fcm.data', fcm.data],
    ['fcm.android.data', asObject(fcm.android).data],
    ['fcm.webpush.data', asObject(fcm.webpush).data],
  ] as const) {
    checkDataKeys(asObject(data), `${where}.`, problems);
  }
  return problems;
}

/** Fields a person sees: a data message has none of them. */
const visibleKeys = ['title', 'body', 'image', 'sound', 'badge'] as const;

/** FCM refuses every message whose data uses a key it keeps for itself: say so once, here. */
function checkDataKeys(data: Record<string, unknown>, prefix: string, problems: string[]): void {
  for (const key of Object.keys(data)) {
    if (limits.fcmReservedDataKeys.test(key))
      problems.push(`${prefix}${key}: FCM reserves this data key (from, message_type, collapse_key, notification, google.*, gcm.*) and would refuse every message: rename it`);
  }
}

function checkContent(value: Record<string, unknown>, prefix: string, problems: string[]): void {
  for (const key of ['title', 'body', 'image', 'link', 'sound'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') problems.push(`${prefix}${key} must be a string`);
  }
  if (value.badge !== undefined && typeof value.badge !== 'string' && !Number.isInteger(value.badge)) {
    problems.push(`${prefix}badge must be a whole number`);
  }
  if (value.data !== undefined) {
    if (!isPlainObject(value.data)) problems.push(`${prefix}data must be an object of strings`);
    else {
      for (const [key, item] of Object.entries(value.data)) {
        // FCM data values must be strings; saying so here beats a per-message rejection later.
        if (typeof item !== 'string') problems.push(`${prefix}data.${key} must be a string (FCM data values are strings), not ${typeof item}`);
      }
      checkDataKeys(value.data, `${prefix}data.`, problems);
    }
  }
}

function normalizeTemplate(value: Record<string, unknown>): MessageTemplate {
  const template = { ...value } as unknown as MessageTemplate & { $schema?: string };
  delete template.$schema;
  template.kind ??= 'notification';
  if (value.ttl !== undefined) template.ttl = parseDuration(value.ttl);
  if (template.locales) {
    template.locales = Object.fromEntries(Object.entries(template.locales).map(([locale, variant]) => [normalizeLocale(locale), variant]));
  }
  return template;
}

/** "fa_IR", "FA-ir" and "fa-IR" are the same locale. */
export function normalizeLocale(locale: string): string {
  return locale.trim().replace(/_/g, '-').toLowerCase();
}

function hasText(value: unknown): boolean {
  const object = asObject(value);
  return typeof object.title === 'string' || typeof object.body === 'string';
}

function asObject(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}
