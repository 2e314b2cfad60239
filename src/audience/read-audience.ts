import { createReadStream, statSync, type ReadStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { parse, type CsvError, type Options } from 'csv-parse';
import { oneLine, quoted } from '../domain/quote-value.js';
import { InputError, InterruptedError, describeFileError, throwIfInterrupted } from '../errors.js';
import { checkApnsToken, checkToken, checkWebPushJson, checkWebPushSubscription, isApnsTopic, type CheckedToken } from './check-token.js';
import {
  type ApnsEnvironment,
  type AudienceRow,
  type DeviceRecipient,
  type LineIs,
  deviceIdentity,
  keysOf,
  liveActivityPushType,
  userIdentity,
  type ProviderName,
  type RowProblem,
  type UserRecipient,
} from '../domain/recipient.js';
import { decodeText, type TextFormat } from './decode-text.js';
import { unguardFormula } from './guard-formula.js';
import { SeenSet } from '../domain/seen-set.js';
import type { Hash64 } from '../domain/hash.js';

export interface AudienceSource {
  /** The path as the user wrote it, or `-` for `input`: used in every message. */
  path: string;
  /** Where to read the file, when `path` is relative to another directory. */
  file?: string;
  /** An already open stream (standard input); otherwise the file is opened. */
  input?: Readable;
  /** Provider for rows that name none (a file with only a `token` column). */
  defaultProvider?: ProviderName;
  /** The file's encoding when it has no byte order mark and is not UTF-8 (--encoding). */
  encoding?: string;
  /**
   * The recipients this process sends to (its shard): only they are remembered to find
   * duplicates, so each shard's memory is its own share. The others pass through unchecked; the
   * engine skips them. A duplicate has its original's hash, so it is always in the same shard.
   */
  owns?: (hash: Hash64) => boolean;
  /** Every listing of a token is a row, none a duplicate: `devices import` keeps the newest of them. */
  keepDuplicates?: boolean;
  /** A Ctrl-C while the header is awaited (a slow pipe, a terminal) stops the opening: `InterruptedError`. */
  signal?: AbortSignal;
}

export interface Audience {
  path: string;
  /** `devices`: rows are tokens or subscriptions; `users`: rows are user IDs for the device registry. */
  shape: 'devices' | 'users';
  header: string[];
  /** A file's encoding and delimiter, as found (or as --encoding said); none for a registry channel. */
  format?: TextFormat;
  /** The columns a template may read (every column but tokens and keys), and what the device registry adds for user audiences. */
  variables: string[];
  /** Columns that are only template variables (a name, a coupon), by index: free text that output files guard against spreadsheet formulas. */
  freeText: number[];
  /** How much of the file has been read, 0 to 1 (bytes read of its size): none for standard input or a channel. */
  shareRead?(): number;
  /** What a row's `line` is: the file's line, or for a registry channel the device's id in the registry. */
  lineIs?: LineIs;
  /** Every data row, in file order: a recipient or the problem that skips it. Pull-based: backpressure reaches the file. */
  rows: AsyncIterable<AudienceRow>;
}

/** What the device registry adds to a user's row for each of their devices (resolve-users.ts). */
export const registryVariables = ['user_id', 'locale'];

/** Header names pushcast reads itself; every other column is a template variable. */
const columnAliases: Record<string, keyof ColumnRoles> = {
  provider: 'provider',
  platform: 'platform',
  token: 'token',
  device_token: 'token',
  endpoint: 'endpoint',
  p256dh: 'p256dh',
  auth: 'auth',
  subscription: 'subscription',
  user_id: 'userId',
  userid: 'userId',
  locale: 'locale',
  timezone: 'timezone',
  time_zone: 'timezone',
  apns_topic: 'apnsTopic',
  apns_environment: 'apnsEnvironment',
  apns_push_type: 'apnsPushType',
};

/** Columns that carry a token or a key: never template variables, never echoed. */
const secretRoles = new Set<keyof ColumnRoles>(['token', 'endpoint', 'p256dh', 'auth', 'subscription']);

interface ColumnRoles {
  provider?: number;
  platform?: number;
  token?: number;
  endpoint?: number;
  p256dh?: number;
  auth?: number;
  subscription?: number;
  userId?: number;
  locale?: number;
  timezone?: number;
  apnsTopic?: number;
  apnsEnvironment?: number;
  apnsPushType?: number;
}

const providerAliases: Record<string, ProviderName> = {
  fcm: 'fcm',
  apns: 'apns',
  webpush: 'webpush',
  'web-push': 'webpush',
  web_push: 'webpush',
};
const platformProviders: Record<string, ProviderName> = {
  android: 'fcm',
  ios: 'apns',
  ipados: 'apns',
  macos: 'apns',
  web: 'webpush',
};

interface ParsedRecord {
  fields: string[];
  line: number;
}

/**
 * Opens a CSV audience and reads its header. Throws `InputError` when the file cannot be read or
 * its header does not say what to send to; problems in single rows come out of `rows` instead.
 */
export async function openAudience(source: AudienceSource): Promise<Audience> {
  const { path, signal } = source;
  const stage = `while opening the audience ${path === '-' ? '(standard input)' : path}`;
  throwIfInterrupted(signal, stage);
  const input = source.input ?? createReadStream(source.file ?? path);
  // Only until the header is read: once sending, a Ctrl-C lets the run account for the rest of the file.
  const stopOpening = () => input.destroy(new InterruptedError(stage));
  signal?.addEventListener('abort', stopOpening, { once: true });
  try {
    return await readOpening(source, input);
  } catch (error) {
    throwIfInterrupted(signal, stage);
    throw error;
  } finally {
    signal?.removeEventListener('abort', stopOpening);
  }
}

async function readOpening(source: AudienceSource, input: Readable): Promise<Audience> {
  const { path } = source;
  if (!source.input) {
    try {
      await once(input, 'open');
    } catch (error) {
      throw new InputError(`audience ${describeFileError(path, error)}`, { cause: error });
    }
  }

  let decoded: Awaited<ReturnType<typeof decodeText>>;
  try {
    decoded = await decodeText(input, path, source.encoding);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`audience ${describeFileError(path, error)}`, { cause: error });
  }
  const { text, format } = decoded;

  // Line numbers come from each record's raw text: csv-parse's own counter drifts on CRLF inside quotes.
  let nextLine = 1;
  const syntaxProblems: RowProblem[] = [];
  const parser = parse({
    delimiter: format.delimiter,
    raw: true,
    relax_column_count: true,
    skip_records_with_error: true,
    // With `raw`, each record arrives as { record, raw }.
    on_record: ((record: { record: string[]; raw: string }): ParsedRecord => {
      const line = nextLine;
      nextLine += countLineBreaks(record.raw);
      return { fields: record.record, line };
    }) as unknown as Options['on_record'],
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      const line = nextLine;
      nextLine += countLineBreaks(raw ?? '');
      syntaxProblems.push({ kind: 'problem', line, reason: 'malformed-row', detail: describeCsvError(error) });
      return undefined;
    },
  });
  text.on('error', (error: Error) => parser.destroy(error));
  text.pipe(parser);
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<ParsedRecord>;

  let first: IteratorResult<ParsedRecord>;
  try {
    first = await records.next();
  } catch (error) {
    throw new InputError(`audience ${describeFileError(path, error)}`, { cause: error });
  }
  // A header csv-parse could not read is skipped like any row: the first data row must not stand in for it.
  const unreadable = syntaxProblems[0];
  if (unreadable && (first.done || unreadable.line < first.value.line)) {
    throw new InputError(`audience ${path}, line ${unreadable.line}: the header cannot be read: ${unreadable.detail}`);
  }
  if (first.done) throw new InputError(`audience ${path}: the file is empty; expected a header line such as "provider,token"`);
  const header = first.value.fields.map((name) => name.trim());
  const roles = readHeader(path, header, source.defaultProvider);
  const shareRead = source.input ? undefined : shareOf(input as ReadStream, source.file ?? path);
  return {
    path,
    shape: roles.shape,
    header,
    format,
    freeText: roles.freeText,
    variables: variablesOf(roles),
    // keepDuplicates: no row is remembered, so none is found a duplicate.
    rows: readRows(path, records, header, roles, syntaxProblems, source.defaultProvider, source.keepDuplicates ? () => false : source.owns, shareRead),
    ...(shareRead ? { shareRead } : {}),
  };
}

/**
 * An audience whose rows come split into fields, from no file (the --token of a test send): its
 * header and rows are read as a file's are, lines counted from 2. Its values are as given, not a
 * file's text guarded against spreadsheet formulas, so no guard is taken off them.
 */
export function audienceOfFields(path: string, header: string[], rows: string[][]): Audience {
  const roles = readHeader(path, header);
  const records = (async function* () {
    for (const [index, fields] of rows.entries()) yield { fields, line: index + 2 };
  })();
  return {
    path,
    shape: roles.shape,
    header,
    freeText: roles.freeText,
    variables: variablesOf(roles),
    rows: readRows(path, records, header, { ...roles, freeText: [] }, [], undefined, undefined, undefined),
  };
}

/** The columns a template may read; a user audience's rows get the registry's too. */
function variablesOf(roles: HeaderReading): string[] {
  const variables = roles.vars.map(([name]) => name);
  return roles.shape === 'users' ? [...new Set([...variables, ...registryVariables])] : variables;
}

/** Bytes read of the file's size: a streamed CSV's progress, known without counting its rows first. */
function shareOf(file: ReadStream, name: string): (() => number) | undefined {
  const size = statSync(name, { throwIfNoEntry: false })?.size ?? 0;
  return size > 0 ? () => Math.min(1, file.bytesRead / size) : undefined;
}

interface HeaderReading extends ColumnRoles {
  shape: 'devices' | 'users';
  vars: Array<[name: string, index: number]>;
  freeText: number[];
  /** The provider of rows that name none, when the header alone decides it. */
  impliedProvider?: ProviderName;
}

/** A column pushcast does not read itself: only a template variable, free text guarded against spreadsheet formulas in the files pushcast writes. */
export function isFreeTextColumn(name: string): boolean {
  return !columnRole(name);
}

/** What pushcast reads a column as, by its header name (`token`, `locale`, `timezone`…); none for a template variable. */
export function columnRole(name: string): keyof ColumnRoles | undefined {
  return columnAliases[normalName(name)];
}

function normalName(name: string): string {
  return name.toLowerCase().replace(/[\s-]+/g, '_');
}

function readHeader(path: string, header: string[], defaultProvider?: ProviderName): HeaderReading {
  const roles: ColumnRoles = {};
  const vars: Array<[string, number]> = [];
  const freeText: number[] = [];
  const seen = new Map<string, number>();
  header.forEach((name, index) => {
    if (name === '') throw new InputError(`audience ${path}, line 1: column ${index + 1} has no name`);
    const normal = normalName(name);
    if (seen.has(normal)) throw new InputError(`audience ${path}, line 1: column ${quoted(name)} appears twice`);
    seen.set(normal, index);
    const role = columnAliases[normal];
    if (role) roles[role] = index;
    else freeText.push(index);
    if (!role || !secretRoles.has(role)) vars.push([name, index]);
  });

  const hasDeviceColumn = roles.token !== undefined || roles.endpoint !== undefined || roles.subscription !== undefined;
  if (!hasDeviceColumn) {
    if (roles.userId !== undefined) return { ...roles, shape: 'users', vars, freeText };
    throw new InputError(
      `audience ${path}, line 1: the header has no token, endpoint, subscription or user_id column, so pushcast cannot tell whom to send to (found: ${header.map(oneLine).join(', ')})`,
    );
  }
  if (roles.endpoint !== undefined && (roles.p256dh === undefined || roles.auth === undefined)) {
    throw new InputError(`audience ${path}, line 1: an endpoint column needs p256dh and auth columns beside it`);
  }
  let impliedProvider = defaultProvider;
  const onlyWebPushColumns = roles.token === undefined;
  if (!impliedProvider && onlyWebPushColumns) impliedProvider = 'webpush';
  if (!impliedProvider && roles.provider === undefined && roles.platform === undefined) {
    throw new InputError(`audience ${path}, line 1: a token column needs a provider (fcm, apns, webpush) or platform (android, ios, web) column, or --provider for the whole file`);
  }
  return { ...roles, shape: 'devices', vars, freeText, impliedProvider };
}

async function* readRows(
  path: string,
  records: AsyncIterator<ParsedRecord>,
  header: string[],
  roles: HeaderReading,
  syntaxProblems: RowProblem[],
  defaultProvider: ProviderName | undefined,
  owns: ((hash: Hash64) => boolean) | undefined,
  shareRead: (() => number) | undefined,
): AsyncGenerator<AudienceRow> {
  const seen = new SeenSet(shareRead);
  for (;;) {
    let next: IteratorResult<ParsedRecord>;
    try {
      next = await records.next();
    } catch (error) {
      throw new InputError(`audience ${describeFileError(path, error)}`, { cause: error });
    }
    // Rows csv-parse could not read come before the record that followed them.
    while (syntaxProblems.length > 0 && (next.done || syntaxProblems[0].line < next.value.line)) {
      yield syntaxProblems.shift()!;
    }
    if (next.done) return;
    const { fields, line } = next.value;
    if (fields.length === 1 && fields[0].trim() === '' && header.length > 1) continue; // a blank line
    if (fields.some((field) => field.includes('\uFFFD'))) {
      // A byte sequence that is not UTF-8 decodes to U+FFFD: sent as is, the name would arrive as "Ren�e".
      yield { kind: 'problem', line, reason: 'invalid-encoding', detail: 'this line is not valid UTF-8; save the file as UTF-8 (in Excel: "CSV UTF-8")' };
      continue;
    }
    if (fields.length !== header.length) {
      yield {
        kind: 'problem',
        line,
        reason: 'wrong-column-count',
        detail: `expected ${header.length} fields as in the header, found ${fields.length}`,
      };
      continue;
    }
    takeOffTextMarks(fields, roles.freeText);
    const row = roles.shape === 'users' ? readUser(fields, line, roles) : readDevice(fields, line, roles, defaultProvider);
    if (row.kind === 'problem' || (owns && !owns(row.hash))) {
      yield row;
      continue;
    }
    const firstLine = seen.addOrGetLine(row.hash, line);
    if (firstLine !== 0) {
      yield {
        kind: 'problem',
        line,
        reason: 'duplicate',
        detail: `same ${row.kind === 'user' ? 'user_id' : `${row.provider} token`} as ${firstLine > 0 ? `line ${firstLine}` : 'an earlier line'}; sent once`,
        hash: row.hash,
        ...(row.kind === 'device' ? { provider: row.provider } : {}),
      };
      continue;
    }
    yield row;
  }
}

function readUser(fields: string[], line: number, roles: HeaderReading): UserRecipient | RowProblem {
  const userId = fields[roles.userId!].trim();
  if (userId === '') return { kind: 'problem', line, reason: 'empty-token', detail: 'user_id is empty' };
  return {
    kind: 'user',
    line,
    userId,
    ...keysOf(userIdentity(userId)),
    locale: cell(fields, roles.locale),
    timezone: cell(fields, roles.timezone),
    vars: readVars(fields, roles.vars),
    fields,
  };
}

function readDevice(fields: string[], line: number, roles: HeaderReading, defaultProvider: ProviderName | undefined): DeviceRecipient | RowProblem {
  const provider = readProvider(fields, roles, defaultProvider);
  if (typeof provider !== 'string') return { kind: 'problem', line, reason: 'unknown-provider', detail: provider.detail };

  const pushType = cell(fields, roles.apnsPushType)?.toLowerCase();
  if (pushType !== undefined) {
    const problem =
      pushType !== liveActivityPushType
        ? `apns_push_type must be liveactivity (an ActivityKit update or push-to-start token) or empty (a device token), not ${quoted(pushType)}`
        : provider !== 'apns'
          ? `apns_push_type liveactivity is for APNs tokens; this row's provider is ${provider}`
          : undefined;
    if (problem) return { kind: 'problem', line, reason: 'malformed-row', detail: problem, provider };
  }

  let checked: CheckedToken;
  if (provider === 'webpush') {
    const endpoint = cell(fields, roles.endpoint);
    const subscription = cell(fields, roles.subscription);
    if (endpoint !== undefined) {
      checked = checkWebPushSubscription(endpoint, fields[roles.p256dh!], fields[roles.auth!]);
    } else if (subscription !== undefined) {
      checked = checkWebPushJson(subscription);
    } else {
      checked = checkWebPushJson(cell(fields, roles.token) ?? '');
    }
  } else {
    checked = provider === 'apns' ? checkApnsToken(cell(fields, roles.token) ?? '', pushType === liveActivityPushType) : checkToken(provider, cell(fields, roles.token) ?? '');
  }
  if (!checked.ok) return { kind: 'problem', line, reason: checked.reason, detail: checked.detail, provider };

  const apnsTopic = cell(fields, roles.apnsTopic);
  if (apnsTopic !== undefined && !isApnsTopic(apnsTopic)) {
    return { kind: 'problem', line, reason: 'malformed-row', detail: 'apns_topic must be an app bundle id such as com.example.app (ASCII letters, digits, - and .)', provider };
  }
  const environment = cell(fields, roles.apnsEnvironment)?.toLowerCase();
  if (environment !== undefined && environment !== 'sandbox' && environment !== 'production') {
    return {
      kind: 'problem',
      line,
      reason: 'malformed-row',
      detail: `apns_environment must be sandbox or production, not ${quoted(environment)}`,
      provider,
    };
  }
  return {
    kind: 'device',
    line,
    provider,
    token: checked.token,
    ...keysOf(deviceIdentity(provider, checked.token)),
    subscription: checked.subscription,
    userId: cell(fields, roles.userId),
    locale: cell(fields, roles.locale),
    timezone: cell(fields, roles.timezone),
    apnsTopic,
    apnsEnvironment: environment as ApnsEnvironment | undefined,
    apnsPushType: pushType as DeviceRecipient['apnsPushType'],
    vars: readVars(fields, roles.vars),
    fields,
  };
}

function readProvider(fields: string[], roles: HeaderReading, defaultProvider: ProviderName | undefined): ProviderName | { detail: string } {
  const named = cell(fields, roles.provider)?.toLowerCase();
  if (named !== undefined) {
    return providerAliases[named] ?? { detail: `unknown provider ${quoted(named)} (expected fcm, apns or webpush)` };
  }
  const platform = cell(fields, roles.platform)?.toLowerCase();
  if (platform !== undefined) {
    return platformProviders[platform] ?? { detail: `unknown platform ${quoted(platform)} (expected android, ios or web)` };
  }
  return roles.impliedProvider ?? defaultProvider ?? { detail: 'provider and platform are empty' };
}

/**
 * Turns a row's free-text cells into their values: a spreadsheet's text mark, the `'` before a
 * formula (written by `guardFormula`, or typed in a spreadsheet), is not part of the value. Tokens,
 * user ids and the other columns pushcast reads are never altered.
 */
function takeOffTextMarks(fields: string[], freeText: number[]): void {
  for (const index of freeText) fields[index] = unguardFormula(fields[index]);
}

/** A row's template variables, in a map without a prototype: a column named `__proto__` is just a column. */
function readVars(fields: string[], columns: Array<[string, number]>): Record<string, string> {
  const vars = Object.create(null) as Record<string, string>;
  for (const [name, index] of columns) {
    const value = fields[index];
    if (value !== '') vars[name] = value; // an empty cell is a missing variable, so defaults apply
  }
  return vars;
}

function cell(fields: string[], index: number | undefined): string | undefined {
  if (index === undefined) return undefined;
  const value = fields[index].trim();
  return value === '' ? undefined : value;
}

function countLineBreaks(raw: string): number {
  let count = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 10) count++;
    else if (c === 13 && raw.charCodeAt(i + 1) !== 10) count++; // a bare CR, or a CRLF cut short by csv-parse
  }
  return count;
}

function describeCsvError(error: { message?: string } | undefined): string {
  const message = error?.message ?? 'unreadable CSV record';
  // csv-parse counts lines its own way; our line number is the one that matters.
  return message.replace(/\s*at line \d+\.?$/, '').replace(/:\s*$/, '');
}
