import { closestName } from '../domain/closest-name.js';
import { oneLine, quoted } from '../domain/quote-value.js';
import { parseFrequencyCap } from './frequency-cap.js';
import { parseDuration } from './parse-duration.js';
import { endpointProblem } from './parse-endpoint.js';
import { getSetting, settings, type Setting, type Source } from './settings.js';

/**
 * What is wrong with the settings, all of it at once: each problem names its setting (or the key
 * as written, for one that is no setting), where its value came from when that is known, and why.
 * `reason` is the whole phrase, naming the setting as it was given: the key in the file, the
 * environment variable, the flag.
 */
export interface ConfigProblem {
  setting: string;
  source?: Source;
  reason: string;
}

/** What `concurrency` and --concurrency take. */
export const concurrencyRule = 'a whole number of recipients in flight per provider';
export const isConcurrency = (n: number): boolean => Number.isInteger(n) && n >= 1;
/** What `workers` and --workers take. */
export const threadCountRule = 'a whole number of sending threads from 0 to 64 (0: send from the main thread)';
export const isThreadCount = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 64;
/**
 * A Google Cloud project id: 6 to 30 lower-case letters, digits and hyphens, from a letter, not
 * ending in a hyphen; an old one may be scoped by a domain (example.com:project). It becomes part
 * of every FCM request's path: anything else would send requests somewhere else.
 */
export const projectIdPattern = /^(?:[a-z0-9][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const projectIdRule = '6 to 30 lower-case letters, digits and hyphens, from a letter';

/** A Firebase app id for Android: project number, platform, and a hex hash. */
export const androidAppIdPattern = /^\d+:\d+:android:[0-9a-f]+$/;

/** What `requestTimeout` and `stallTimeout` take. */
export const durationRule = 'takes a duration of at least one second, such as 30, 30s or 2m';

/**
 * Every problem of a merged configuration (`config`: the file, the environment and the flags
 * together, with `sources` saying which set each setting): the file's keys that are no setting,
 * values of the wrong kind, and values the setting cannot take. `file`: the file as it was named,
 * for its keys.
 */
export function configProblems(config: Record<string, unknown>, sources: ReadonlyMap<string, Source>, file?: string): ConfigProblem[] {
  const fileSource: Source | undefined = file === undefined ? undefined : { from: 'file', name: file };
  const problems: ConfigProblem[] = unknownSettings(config).map(({ setting, reason }) => ({ setting, source: fileSource, reason }));
  for (const setting of settings) {
    const value = getSetting(config, setting.path);
    if (value === undefined || value === null) continue;
    const source = sources.get(setting.path);
    // The name the person wrote: the key in the file, or the variable, or the flag.
    const name = source && source.from !== 'file' ? source.name : setting.path;
    const why = wrongKind(setting, value) ?? wrongValue(setting.path, value);
    if (why) problems.push({ setting: setting.path, source, reason: `${name} ${why}` });
  }
  return problems;
}

/** The problems as one line: those of the file together under its name, then the others. */
export function describeConfigProblems(problems: ConfigProblem[]): string {
  const inFile = problems.filter((problem) => problem.source?.from === 'file' || problem.source === undefined);
  const elsewhere = problems.filter((problem) => !inFile.includes(problem));
  const parts: string[] = [];
  for (const file of new Set(inFile.map((problem) => problem.source?.name))) {
    const reasons = listed(inFile.filter((problem) => problem.source?.name === file).map((problem) => problem.reason));
    parts.push(file === undefined ? reasons : `config ${oneLine(file)}: ${reasons} (see schema/config-v1.schema.json)`);
  }
  parts.push(...elsewhere.map((problem) => problem.reason));
  return parts.join('; ');
}

/** The first few problems, and how many more: one line, however wrong the file. */
function listed(problems: string[]): string {
  const shown = 10;
  return problems.length <= shown + 1 ? problems.join('; ') : `${problems.slice(0, shown).join('; ')}; and ${problems.length - shown} more`;
}

/** The settings under a section (fcm, apns, webpush), as their inner names. */
function settingsOf(section: string): string[] {
  return settings.filter((setting) => setting.path.startsWith(`${section}.`)).map((setting) => setting.path.slice(section.length + 1));
}

export function isSection(key: string): boolean {
  return settingsOf(key).length > 0;
}

/**
 * Typos in a config file are errors: a misspelt key would otherwise be silently ignored. Each is
 * named with the setting it is closest to: "fmc" is "fcm", and "topic" alone is "apns.topic".
 */
function unknownSettings(config: Record<string, unknown>): Array<{ setting: string; reason: string }> {
  const known = new Set(settings.map((setting) => setting.path));
  const topLevel = [...new Set(settings.map((setting) => setting.path.split('.')[0]))];
  const unknown = (path: string, near: string | undefined) => ({ setting: path, reason: `unknown setting ${quoted(path)}${near ? ` (did you mean ${quoted(near)}?)` : ''}` });
  const problems: Array<{ setting: string; reason: string }> = [];
  for (const [key, value] of Object.entries(config)) {
    if (key === '$schema') continue;
    if (isSection(key) && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const inner of Object.keys(value)) {
        if (known.has(`${key}.${inner}`)) continue;
        const near = closestName(inner, settingsOf(key));
        problems.push(unknown(`${key}.${inner}`, near && `${key}.${near}`));
      }
    } else if (isSection(key)) {
      problems.push({ setting: key, reason: `"${key}" is a section of settings (an object such as {"${settingsOf(key)[0]}": …}), not ${quoted(value)}` });
    } else if (!known.has(key)) {
      const inSection = settings.find((setting) => setting.path.toLowerCase().endsWith(`.${key.toLowerCase()}`));
      problems.push(unknown(key, closestName(key, topLevel) ?? inSection?.path));
    }
  }
  return problems;
}

/**
 * A value of the wrong kind (an object where a path belongs, as a YAML alias can put there; a
 * variable that is no number) would fail far from where it was set, or as an unexpected error.
 */
function wrongKind(setting: Setting, value: unknown): string | undefined {
  const expected =
    setting.kind === 'number'
      ? typeof value !== 'number' && 'a number'
      : setting.kind === 'list'
        ? !(Array.isArray(value) && value.every((item) => typeof item === 'string')) && 'a list of text'
        : setting.kind === 'string'
          ? typeof value !== 'string' && typeof value !== 'number' && 'text'
          : typeof value !== 'string' && 'text (a path, or the content itself)';
  return expected ? `must be ${expected}, not ${quoted(value)}` : undefined;
}

/** A value of the right kind that its setting cannot take. */
function wrongValue(path: string, value: unknown): string | undefined {
  switch (path) {
    case 'requestTimeout':
    case 'stallTimeout':
      return parseDuration(value as string | number) ? undefined : `${durationRule}, not ${quoted(value)}`;
    case 'concurrency':
      return isConcurrency(value as number) ? undefined : `must be ${concurrencyRule}, not ${String(value)}`;
    case 'workers':
      return isThreadCount(value as number) ? undefined : `must be ${threadCountRule}, not ${String(value)}`;
    case 'fcm.projectId':
      return projectIdPattern.test(String(value)) ? undefined : `must be a Google Cloud project id (${projectIdRule}), not ${quoted(value)}`;
    case 'fcm.androidAppId':
      return androidAppIdPattern.test(String(value))
        ? undefined
        : `must be a Firebase Android app id (1:1234567890:android:0a1b2c3d4e5f6789, in the Firebase console's project settings), not ${quoted(value)}`;
    case 'cap': {
      const cap = parseFrequencyCap(String(value));
      return typeof cap === 'string' ? cap : undefined;
    }
    case 'fcm.endpoint':
    case 'fcm.dataEndpoint':
    case 'fcm.topicsEndpoint':
    case 'apns.endpoint':
    case 'apns.channelsEndpoint':
    case 'webpush.endpoint':
      return endpointProblem(String(value));
    default:
      return undefined;
  }
}
