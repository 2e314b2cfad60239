import { quoted } from '../domain/quote-value.js';
import { isPlainObject } from '../domain/plain-object.js';
import { liveActivityPushType, type DeviceRecipient } from '../domain/recipient.js';

/**
 * Live Activities (ActivityKit push notifications, iOS 16.1+; push-to-start, iOS 17.2+): a
 * template whose `apns.aps` holds Apple's Live Activity fields, sent with `apns-push-type:
 * liveactivity` to the tokens ActivityKit hands the app (an activity's update token, or the app's
 * push-to-start token), never to its device token. Field names and rules are Apple's, from
 * "Starting and updating Live Activities with ActivityKit push notifications" (developer.apple.com).
 */
const liveActivityEvents = ['start', 'update', 'end'] as const;

/** `aps` fields only a Live Activity has: any of them makes the template one. */
const liveActivityKeys = [
  'event',
  'content-state',
  'timestamp',
  'stale-date',
  'dismissal-date',
  'relevance-score',
  'attributes-type',
  'attributes',
  'input-push-token',
  'input-push-channel',
];
/** Dates in seconds since 1970; "now" is the moment each request is built. */
const dateKeys = ['timestamp', 'stale-date', 'dismissal-date'] as const;
const nowValue = 'now';
/** Seconds since 1970 beyond this (the year 5138) are milliseconds written by mistake. */
const latestSeconds = 1e11;

/** The `aps` of a template's (or a rendered message's) `apns` block when it is a Live Activity. */
export function liveActivityAps(apns: unknown): Record<string, unknown> | undefined {
  const aps = isPlainObject(apns) ? apns.aps : undefined;
  return isPlainObject(aps) && liveActivityKeys.some((key) => aps[key] !== undefined) ? aps : undefined;
}

/**
 * What Apple requires of a Live Activity payload, checked when the template is loaded: every
 * problem, each naming its field. `template` is the file's JSON object.
 */
export function checkLiveActivity(template: Record<string, unknown>, problems: string[]): void {
  const aps = liveActivityAps(template.apns);
  if (!aps) return;
  const field = (key: string) => `apns.aps.${key}`;
  const event = aps.event;
  if (event === undefined)
    problems.push(`${field('event')} is missing: a Live Activity payload says ${liveActivityEvents.join(', ')} (the other apns.aps fields make this a Live Activity)`);
  else if (!liveActivityEvents.includes(event as never)) problems.push(`${field('event')} must be ${liveActivityEvents.join(', ')}, not ${quoted(event)}`);
  if (aps.timestamp === undefined)
    problems.push(`${field('timestamp')} is missing: Apple requires it (seconds since 1970, or "now"); the device ignores a push older than the last it applied`);
  if (aps['content-state'] === undefined)
    problems.push(`${field('content-state')} is missing: every Live Activity event carries the activity's content state (the app's ContentState as JSON)`);
  else if (!isPlainObject(aps['content-state'])) problems.push(`${field('content-state')} must be an object (the app's ContentState as JSON)`);
  for (const key of dateKeys) {
    const problem = aps[key] === undefined ? undefined : checkSeconds(aps[key], true);
    if (problem) problems.push(`${field(key)} ${problem}`);
  }
  const score = aps['relevance-score'];
  if (score !== undefined && typeof score !== 'number' && !isPlaceholder(score)) problems.push(`${field('relevance-score')} must be a number`);
  const starts = event === 'start';
  for (const key of ['attributes-type', 'attributes']) {
    if (aps[key] !== undefined && !starts) problems.push(`${field(key)} is only for event "start" (push-to-start): an update or end changes the content state, not the attributes`);
    else if (aps[key] === undefined && starts)
      problems.push(`${field(key)} is missing: event "start" (push-to-start) needs attributes-type (the app's ActivityAttributes type name) and attributes`);
  }
  if (starts && aps['attributes-type'] !== undefined && typeof aps['attributes-type'] !== 'string')
    problems.push(`${field('attributes-type')} must be the name of the app's ActivityAttributes type`);
  if (starts && aps.attributes !== undefined && !isPlainObject(aps.attributes)) problems.push(`${field('attributes')} must be an object (the app's ActivityAttributes as JSON)`);
  if (aps['dismissal-date'] !== undefined && event !== 'end')
    problems.push(`${field('dismissal-date')} is only for event "end": it says when the ended activity leaves the Lock Screen`);
  if ((template.kind ?? 'notification') !== 'notification') problems.push('kind: a Live Activity is not a silent data message: remove "kind": "data"');
  for (const key of ['badge', 'image', 'thread'] as const) {
    if (template[key] !== undefined) problems.push(`${key}: a Live Activity has no ${key} (its alert is the template's title, body and sound): remove it`);
  }
}

/**
 * A rendered Live Activity's dates and score as APNs wants them, numbers: "now" (or a cell that
 * says it) becomes `nowSeconds`, a placeholder's text its number. The problem, naming the field,
 * when a row's value is none.
 */
export function settleLiveActivity(aps: Record<string, unknown>, nowSeconds: number): string | undefined {
  for (const key of dateKeys) {
    if (aps[key] === undefined) continue;
    if (aps[key] === nowValue) {
      aps[key] = nowSeconds;
      continue;
    }
    const problem = checkSeconds(aps[key], false);
    if (problem) return `apns.aps.${key} ${problem}`;
    aps[key] = Number(aps[key]);
  }
  const score = aps['relevance-score'];
  if (score !== undefined) {
    if (typeof score === 'string' && score.trim() !== '' && Number.isFinite(Number(score))) aps['relevance-score'] = Number(score);
    else if (typeof score !== 'number') return `apns.aps.relevance-score must be a number, got ${quoted(score)}`;
  }
  return undefined;
}

/**
 * Why a Live Activity may not go to this device, or an ordinary message to a Live Activity token:
 * ActivityKit tokens take only ActivityKit pushes, and APNs would deliver neither.
 */
export function tokenKindMismatch(message: { apns?: Record<string, unknown> }, recipient: DeviceRecipient): string | undefined {
  const live = liveActivityAps(message.apns) !== undefined;
  const liveToken = recipient.apnsPushType === liveActivityPushType;
  if (live && !liveToken) {
    return recipient.provider === 'apns'
      ? 'a Live Activity goes to the tokens ActivityKit gives the app (an update or push-to-start token), marked apns_push_type liveactivity in the audience; this row is a device token'
      : `a Live Activity goes to APNs Live Activity tokens only (apns_push_type liveactivity); this row is a ${recipient.provider} token`;
  }
  if (!live && liveToken)
    return 'this row is a Live Activity token (apns_push_type liveactivity): it takes only a Live Activity template (apns.aps.event, content-state, timestamp)';
  return undefined;
}

/** Whole seconds since 1970: a number, "now" or, in a template, a placeholder filled per row. */
function checkSeconds(value: unknown, inTemplate: boolean): string | undefined {
  if (value === nowValue || (inTemplate && isPlaceholder(value))) return undefined;
  const seconds = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) return `must be whole seconds since 1970 or "now", not ${quoted(value)}`;
  if (seconds > latestSeconds) return `is ${seconds}: that is milliseconds; APNs takes seconds since 1970 (${Math.floor(seconds / 1000)})`;
  return undefined;
}

function isPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && value.includes('{{');
}
