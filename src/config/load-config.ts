import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { closestName } from '../domain/closest-name.js';
import { locateJsonError, pointAt } from '../domain/locate-syntax-error.js';
import { oneLine, quoted } from '../domain/quote-value.js';
import { ConfigError, describeFileError, InputError, InterruptedError } from '../errors.js';
import type { PushcastConfig } from './config.js';
import { defaultConfigFiles } from './defaults.js';
import { readSmallFile, type SmallFile } from './read-small-file.js';
import { getSetting, setSetting, settings, type Setting } from './settings.js';

/** Where a setting's value came from, for `pushcast config`. */
export interface Source {
  from: 'flag' | 'env' | 'file';
  /** The flag, the variable, or the file. */
  name: string;
}

/** A command-line flag that sets a setting, as `{ path: 'apns.topic', flag: '--apns-topic', value }`. */
export interface FlagSetting {
  path: string;
  flag: string;
  value: unknown;
}

export interface LoadedConfig {
  config: PushcastConfig;
  /** The file read, if any. */
  file?: string;
  sources: Map<string, Source>;
}

/**
 * The biggest config file read. A config is a few KB of settings, with a key or two inline; the
 * bound keeps a wrong file from costing minutes and gigabytes: the YAML parser's costliest shapes
 * (thousands of keys, deep nesting) took up to 0.5 s for 64 KB on a busy 2-core machine, 24 s for 1 MB.
 */
const configFile: SmallFile = { limit: 64 * 1024, what: 'a config file' };

/**
 * The effective configuration: flags override the environment, which overrides the file
 * (--config, $PUSHCAST_CONFIG, or ./pushcast.config.json|yaml), which overrides the defaults.
 * A relative path is relative to where it was written: the file's folder, or the working directory.
 * `signal` ends the wait for a config that comes through a pipe.
 */
export async function loadConfig(options: { file?: string; cwd: string; env: NodeJS.ProcessEnv; flags?: FlagSetting[]; signal?: AbortSignal }): Promise<LoadedConfig> {
  const sources = new Map<string, Source>();
  const given = options.file ?? options.env.PUSHCAST_CONFIG;
  const path = given ? resolve(options.cwd, given) : defaultConfigFiles.map((name) => resolve(options.cwd, name)).find((candidate) => existsSync(candidate));
  let config: Record<string, unknown> = {};
  if (path) {
    config = await readConfigFile(path, given ?? path, options.signal);
    for (const setting of settings) {
      const value = getSetting(config, setting.path);
      if (value === undefined) continue;
      setSetting(config, setting.path, resolveFile(setting, value, resolve(path, '..')));
      sources.set(setting.path, { from: 'file', name: given ?? path });
    }
  }
  for (const setting of settings) {
    const variable = setting.env.find((name) => options.env[name] !== undefined && options.env[name] !== '');
    if (!variable) continue;
    setSetting(config, setting.path, resolveFile(setting, parseValue(setting, options.env[variable]!, variable), options.cwd));
    sources.set(setting.path, { from: 'env', name: variable });
  }
  for (const { path: settingPath, flag, value } of options.flags ?? []) {
    if (value === undefined) continue;
    setSetting(config, settingPath, value);
    sources.set(settingPath, { from: 'flag', name: flag });
  }
  return { config: config as PushcastConfig, file: path, sources };
}

async function readConfigFile(path: string, label: string, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = (await readSmallFile(path, { ...configFile, signal })).toString('utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError(`while reading config ${oneLine(label)}`);
    // A file named that cannot be read is bad input, as a missing audience or message is.
    throw new InputError(`config ${describeFileError(label, error)}`, { cause: error });
  }
  const yaml = /\.ya?ml$/i.test(path);
  let parsed: unknown;
  try {
    parsed = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config ${oneLine(label)}: not valid ${yaml ? 'YAML' : 'JSON'}: ${syntaxProblem(text, yaml, error)}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config ${oneLine(label)}: must be an object of settings`);
  // A section left empty (YAML's `fcm:` with every line under it commented out) is null: no settings.
  for (const [key, value] of Object.entries(parsed)) if (value === null && isSection(key)) delete (parsed as Record<string, unknown>)[key];
  const problems = [...unknownSettings(parsed as Record<string, unknown>), ...wrongKinds(parsed as Record<string, unknown>)];
  if (problems.length > 0) throw new ConfigError(`config ${oneLine(label)}: ${listed(problems)} (see schema/config-v1.schema.json)`);
  return parsed as Record<string, unknown>;
}

/**
 * Where the file stops being JSON or YAML, by line and column, and why. Never the line itself, as a
 * message template's error shows it: a config's lines may hold a key.
 */
function syntaxProblem(text: string, yaml: boolean, error: unknown): string {
  const offset = yaml ? (error as { pos?: [number, number] }).pos?.[0] : undefined;
  const at = yaml ? (offset === undefined ? undefined : { ...pointAt(text, offset), reason: (error as Error).message }) : locateJsonError(text);
  return oneLine(at ? `line ${at.line}, column ${at.column}: ${at.reason}` : (error as Error).message);
}

/**
 * The yaml package (CommonJS) is loaded only when a YAML file is read. A config holds no more
 * values than there are settings, so it needs no more aliases than that: an alias bomb (a
 * "billion laughs") is refused rather than expanded.
 */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text, { maxAliasCount: settings.length, prettyErrors: false });
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

function isSection(key: string): boolean {
  return settingsOf(key).length > 0;
}

/**
 * Typos in a config file are errors: a misspelt key would otherwise be silently ignored. Each is
 * named with the setting it is closest to: "fmc" is "fcm", and "topic" alone is "apns.topic".
 */
function unknownSettings(config: Record<string, unknown>): string[] {
  const known = new Set(settings.map((setting) => setting.path));
  const topLevel = [...new Set(settings.map((setting) => setting.path.split('.')[0]))];
  const unknown = (path: string, near: string | undefined) => `unknown setting ${quoted(path)}${near ? ` (did you mean ${quoted(near)}?)` : ''}`;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (key === '$schema') continue;
    if (isSection(key) && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const inner of Object.keys(value)) {
        if (known.has(`${key}.${inner}`)) continue;
        const near = closestName(inner, settingsOf(key));
        problems.push(unknown(`${key}.${inner}`, near && `${key}.${near}`));
      }
    } else if (isSection(key)) {
      problems.push(`"${key}" is a section of settings (an object such as {"${settingsOf(key)[0]}": …}), not ${quoted(value)}`);
    } else if (!known.has(key)) {
      const inSection = settings.find((setting) => setting.path.toLowerCase().endsWith(`.${key.toLowerCase()}`));
      problems.push(unknown(key, closestName(key, topLevel) ?? inSection?.path));
    }
  }
  return problems;
}

/**
 * A value of the wrong kind (an object where a path belongs, as a YAML alias can put there) would
 * fail far from the file, or as an unexpected error: it is said here. Null is a value left empty.
 */
function wrongKinds(config: Record<string, unknown>): string[] {
  return settings.flatMap((setting) => {
    const value = getSetting(config, setting.path);
    if (value === undefined || value === null) return [];
    const expected =
      setting.kind === 'number'
        ? typeof value !== 'number' && 'a number'
        : setting.kind === 'list'
          ? !(Array.isArray(value) && value.every((item) => typeof item === 'string')) && 'a list of text'
          : setting.kind === 'string'
            ? typeof value !== 'string' && typeof value !== 'number' && 'text'
            : typeof value !== 'string' && 'text (a path, or the content itself)';
    return expected ? [`${setting.path} must be ${expected}, not ${quoted(value)}`] : [];
  });
}

function parseValue(setting: Setting, value: string, variable: string): unknown {
  if (setting.kind === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new ConfigError(`${variable} must be a number, not ${quoted(value)}`);
    return n;
  }
  if (setting.kind === 'list')
    return value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  return value;
}

/** A registry given as a server's URL (PostgreSQL) rather than a file. */
export function isDatabaseUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

/** PEM or JSON given as the value itself rather than as a path. */
export function isInlineContent(value: string): boolean {
  const trimmed = value.trim();
  return trimmed.startsWith('-----BEGIN') || trimmed.startsWith('{') || trimmed.startsWith('base64:');
}

function resolveFile(setting: Setting, value: unknown, baseDir: string): unknown {
  if (setting.kind === 'registry' && typeof value === 'string' && isDatabaseUrl(value)) return value;
  if ((setting.kind !== 'file' && setting.kind !== 'secret-file' && setting.kind !== 'registry') || typeof value !== 'string') return value;
  if (isInlineContent(value) || isAbsolute(value)) return value;
  return resolve(baseDir, value);
}
