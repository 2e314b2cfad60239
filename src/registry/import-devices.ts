import { resolve } from 'node:path';
import { isFreeTextColumn, openAudience } from '../audience/read-audience.js';
import { deviceIdentity, keysOf, type ProviderName } from '../domain/recipient.js';
import { SeenSet } from '../domain/seen-set.js';
import { InputError, UsageError } from '../errors.js';
import { quoted } from '../domain/quote-value.js';
import { attributeNamePattern } from './device-query.js';
import { openInstallations, type InstallationRow, type InstallationSource } from './installation-export.js';
import { deviceKey, isDeviceField, type DeviceInput, type DeviceRegistry } from './registry.js';

/** What `devices import` reads: a token-list CSV (with optional channels), or a Parse or LeanCloud `_Installation` export. */
export type ImportSource = 'csv' | InstallationSource;

/** A row that could not be imported, with its line and why. */
export interface ImportProblem {
  line: number;
  reason: string;
  detail: string;
}

/** A token an import listed twice: both lines, and the line and user the registry kept. */
export interface ImportConflict {
  lines: [number, number];
  provider: ProviderName;
  token: string;
  keptLine: number;
  keptUser: string | null;
}

export interface ImportResult {
  imported: number;
  /** Devices the export had as invalid, marked so. */
  invalid: number;
  /** The rows skipped, the first 1000 of them. */
  problems: ImportProblem[];
  conflicts: ImportConflict[];
}

type ImportRow = InstallationRow | ({ kind: 'problem' } & ImportProblem);

/** Rows per transaction when importing: big enough to be fast, small enough to let a send read in between. */
const importBatch = 5000;
/** Problems kept to tell, and tokens listed twice told apart, this many at most. */
const maxProblemsListed = 1000;
const maxConflictsListed = 1000;

/**
 * Opens a file to import (`file` as given, relative to `cwd`). An `_Installation` export is read
 * and checked before this resolves, so a broken one fails before the registry is opened; a CSV is
 * opened when its rows are first read.
 */
export async function openImport(file: string, options: { cwd: string; source: ImportSource; provider?: ProviderName; encoding?: string }): Promise<AsyncIterable<ImportRow>> {
  if (options.source === 'csv') return csvDevices(file, options);
  return openInstallations(resolve(options.cwd, file), file, options.source);
}

/** Upserts the rows into the registry in batched transactions, marks the devices the export had as invalid, and tells tokens listed twice. */
export async function importDevices(registry: DeviceRegistry, rows: AsyncIterable<ImportRow>): Promise<ImportResult> {
  let imported = 0;
  const problems: ImportProblem[] = [];
  let batch: DeviceInput[] = [];
  const invalid: Array<{ provider: ProviderName; token: string; reason: string }> = [];
  const conflicts = new ImportConflicts();
  const flush = async () => {
    await registry.upsert(batch);
    imported += batch.length;
    batch = [];
  };
  for await (const row of rows) {
    if (row.kind === 'problem') {
      if (problems.length < maxProblemsListed) problems.push({ line: row.line, reason: row.reason, detail: row.detail });
      continue;
    }
    conflicts.note(row.line, row.device);
    batch.push(row.device);
    if (row.invalid) invalid.push({ provider: row.device.provider, token: row.device.token, reason: row.invalid });
    if (batch.length >= importBatch) await flush();
  }
  await flush();
  await registry.markInvalid(invalid);
  return { imported, invalid: invalid.length, problems, conflicts: await conflicts.settle(registry) };
}

/**
 * Tokens an import lists more than once: the record seen last (by its last_seen or updatedAt;
 * of two alike, the later line) is the one the registry keeps, and each such token is listed with
 * both lines and the user it went to. Tokens are remembered by their hash, a few bytes each, so a
 * million-row import stays small.
 */
class ImportConflicts {
  private readonly seen = new SeenSet();
  private readonly repeated: Array<{ lines: [number, number]; later: DeviceInput }> = [];

  note(line: number, device: DeviceInput): void {
    const first = this.seen.addOrGetLine(keysOf(deviceIdentity(device.provider, device.token)).hash, line);
    if (first !== 0 && this.repeated.length < maxConflictsListed) this.repeated.push({ lines: [first, line], later: device });
  }

  /** Each token listed twice, with the line and user the registry kept, read back from it. */
  async settle(registry: DeviceRegistry): Promise<ImportConflict[]> {
    const now = await registry.devicesByToken(this.repeated.map(({ later }) => later));
    return this.repeated.map(({ lines, later }) => {
      const kept = now.get(deviceKey(later));
      const laterKept = !kept || (kept.userId ?? null) === (later.userId ?? null);
      return { lines, provider: later.provider, token: later.token, keptLine: laterKept ? lines[1] : lines[0], keptUser: kept?.userId ?? null };
    });
  }
}

/** A token-list CSV's rows as devices to import. */
async function* csvDevices(file: string, options: { cwd: string; provider?: ProviderName; encoding?: string }): AsyncGenerator<ImportRow> {
  const audience = await openAudience({
    path: file,
    file: resolve(options.cwd, file),
    defaultProvider: options.provider,
    encoding: options.encoding,
    keepDuplicates: true,
  });
  if (audience.shape !== 'devices') throw new UsageError(`${file}: an import needs device tokens (a token, endpoint or subscription column), not only user IDs`);
  const attributes = attributeColumns(file, audience.header);
  for await (const row of audience.rows) {
    if (row.kind === 'problem') yield { kind: 'problem', line: row.line, reason: row.reason, detail: row.detail };
    if (row.kind !== 'device') continue;
    if (row.vars.valid === '0') continue; // a dead device in an export: not brought back
    if (row.apnsPushType === 'liveactivity') {
      yield {
        kind: 'problem',
        line: row.line,
        reason: 'unsupported-token',
        detail: 'a Live Activity token: the registry keeps device tokens only; send to it from a CSV audience',
      };
      continue;
    }
    // Times compare as ISO text in SQLite: every last_seen is kept in one form.
    const lastSeen = row.vars.last_seen ? isoTime(row.vars.last_seen) : undefined;
    if (lastSeen === null) {
      yield { kind: 'problem', line: row.line, reason: 'malformed-row', detail: `last_seen ${quoted(row.vars.last_seen)} is not a date and time (2026-11-01T08:00:00Z)` };
      continue;
    }
    yield {
      kind: 'device',
      line: row.line,
      device: {
        provider: row.provider,
        token: row.token,
        subscription: row.subscription ? JSON.stringify(row.subscription) : null,
        userId: row.userId ?? null,
        locale: row.locale ?? null,
        timezone: row.timezone ?? null,
        app: row.apnsTopic ?? null,
        environment: row.apnsEnvironment ?? null,
        platform: row.vars.platform?.toLowerCase() ?? null,
        channels: row.vars.channels?.split(/[;\s]+/).filter(Boolean),
        lastSeen,
        // An empty cell says nothing: the attribute stays as the registry has it.
        attributes: Object.fromEntries(attributes.filter(([column]) => (row.vars[column] ?? '') !== '').map(([column, name]) => [name, row.vars[column]])),
      },
    };
  }
}

/** A time as the registry keeps it (ISO, UTC, milliseconds); null: not a time. */
function isoTime(text: string): string | null {
  const time = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}

/** Columns an import reads itself beside an audience's: they are not attributes. */
const importColumns = new Set(['channels', 'last_seen', 'valid']);

/**
 * The columns pushcast does not read itself (plan, country, app_version…), kept as the device's
 * attributes under their names, spaces and hyphens written as _. A name that cannot be a template
 * variable stops the import before it writes anything.
 */
function attributeColumns(file: string, header: string[]): Array<[column: string, attribute: string]> {
  return header
    .filter((column) => isFreeTextColumn(column) && !importColumns.has(column.trim().toLowerCase()) && !isDeviceField(column.trim()))
    .map((column) => {
      const name = column.trim().replace(/[\s-]+/g, '_');
      if (!attributeNamePattern.test(name)) {
        throw new InputError(`${file}, line 1: column ${quoted(column)} would be an attribute, and an attribute's name is letters, digits and _ (starting with a letter or _)`);
      }
      return [column, name];
    });
}
