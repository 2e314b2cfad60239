import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { locateJsonError, pointAt } from '../domain/locate-syntax-error.js';
import { oneLine } from '../domain/quote-value.js';
import { ConfigError, describeFileError, InputError, InterruptedError } from '../errors.js';
import { configProblems, describeConfigProblems, isSection } from './check-config.js';
import type { PushcastConfig } from './config.js';
import { defaultConfigFiles } from './defaults.js';
import { readSmallFile, type SmallFile } from './read-small-file.js';
import { getSetting, setSetting, settings, type Setting, type Source } from './settings.js';

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
 * `signal` ends the wait for a config that comes through a pipe. Every problem of the settings,
 * wherever it was set, is told at once (`configProblems`), in one ConfigError.
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
    setSetting(config, setting.path, resolveFile(setting, parseValue(setting, options.env[variable]!), options.cwd));
    sources.set(setting.path, { from: 'env', name: variable });
  }
  for (const { path: settingPath, flag, value } of options.flags ?? []) {
    if (value === undefined) continue;
    setSetting(config, settingPath, value);
    sources.set(settingPath, { from: 'flag', name: flag });
  }
  const problems = configProblems(config, sources, path ? (given ?? path) : undefined);
  if (problems.length > 0) throw new ConfigError(describeConfigProblems(problems));
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

/** A variable's text as its setting's kind; text that is no number stays text, for `configProblems` to name. */
function parseValue(setting: Setting, value: string): unknown {
  if (setting.kind === 'number') {
    const n = Number(value);
    return Number.isFinite(n) ? n : value;
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
