import { counted } from '../../domain/count-words.js';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { isFreeTextColumn, openAudience } from '../../audience/read-audience.js';
import { maskToken, type ApnsEnvironment, type ProviderName } from '../../domain/recipient.js';
import { parseDuration } from '../../config/parse-duration.js';
import { checkToken } from '../../audience/check-token.js';
import { describeFileError, ExitCode, InputError, UsageError } from '../../errors.js';
import { csvLine } from '../../report/csv.js';
import { defaultRegistryFile } from '../../config/defaults.js';
import { DeviceRegistry, type DeviceInput } from '../../registry/device-registry.js';
import { readInstallations, type InstallationRow, type InstallationSource } from '../../registry/installation-export.js';
import { startMeasuring } from '../../campaign/measure-resources.js';
import { writeLine, type CliIo } from '../io.js';
import { parseProvider } from '../send-inputs.js';

/** Rows per transaction when importing: big enough to be fast, small enough to let a send read in between. */
const importBatch = 5000;
export const exportColumns = [
  'provider',
  'token',
  'user_id',
  'locale',
  'timezone',
  'apns_topic',
  'apns_environment',
  'platform',
  'channels',
  'valid',
  'invalid_reason',
  'last_seen',
];
/** The export's free-text columns (channels, invalid_reason…): guarded as `devices import` unguards them, so a re-import is exact. */
const exportFreeText: ReadonlySet<number> = new Set(exportColumns.flatMap((name, index) => (isFreeTextColumn(name) ? [index] : [])));

/**
 * The registry a `devices` command works on. Commands that only read it (list, stats, export,
 * prune) refuse one that does not exist rather than create an empty one and report 0 devices.
 */
export function openRegistryFor(options: { registry?: string }, io: CliIo, access: 'read' | 'write' = 'write'): DeviceRegistry {
  const given = options.registry ?? io.env.PUSHCAST_REGISTRY;
  const file = resolve(io.cwd, given ?? defaultRegistryFile);
  if (access === 'read' && !existsSync(file)) {
    throw new InputError(`no device registry at ${file}: import devices first (pushcast devices import FILE.csv)${given ? '' : ', or name the registry with --registry FILE'}`);
  }
  return DeviceRegistry.open(file);
}

/** `devices import FILE`: upserts a token-list CSV (with optional channels), or a Parse or LeanCloud `_Installation` export, in batched transactions. */
export async function importCommand(file: string, options: { registry?: string; provider?: string; encoding?: string; from?: string; json?: boolean }, io: CliIo): Promise<number> {
  const source = options.from === undefined ? 'csv' : installationSource(options.from);
  const rows = source === 'csv' ? await csvDevices(file, options, io) : installationDevices(file, source, io);
  const registry = openRegistryFor(options, io);
  try {
    let imported = 0;
    const problems: Array<{ line: number; reason: string; detail: string }> = [];
    let batch: DeviceInput[] = [];
    const invalid: Array<{ provider: ProviderName; token: string; reason: string }> = [];
    const measure = startMeasuring();
    const flush = () => {
      registry.upsert(batch);
      imported += batch.length;
      batch = [];
    };
    for await (const row of rows) {
      if (row.kind === 'problem') {
        if (problems.length < 1000) problems.push({ line: row.line, reason: row.reason, detail: row.detail });
        continue;
      }
      batch.push(row.device);
      if (row.invalid) invalid.push({ provider: row.device.provider, token: row.device.token, reason: row.invalid });
      if (batch.length >= importBatch) flush();
    }
    flush();
    registry.markInvalid(invalid);
    const resources = measure();
    const seconds = resources.seconds;
    if (options.json) writeLine(io.stdout, JSON.stringify({ imported, invalid: invalid.length, skipped: problems.length, problems, resources }));
    else {
      const marked = invalid.length > 0 ? ` (${invalid.length} marked invalid, as the export had them)` : '';
      writeLine(
        io.stdout,
        `imported ${counted(imported, 'device')}${marked} into ${registry.path} in ${seconds.toFixed(1)} s (${Math.round(imported / Math.max(seconds, 0.001))}/s)`,
      );
      for (const problem of problems.slice(0, 20)) writeLine(io.stdout, `  line ${problem.line}: ${problem.reason}: ${problem.detail}`);
      if (problems.length > 20) writeLine(io.stdout, `  … and ${problems.length - 20} more (--json lists them)`);
    }
    return ExitCode.ok;
  } finally {
    registry.close();
  }
}

function installationSource(value: string): InstallationSource {
  if (value === 'parse' || value === 'leancloud') return value;
  throw new UsageError(`--from takes parse or leancloud (their _Installation exports), not "${value}"`);
}

/** A token-list CSV's rows as devices to import. */
async function* csvDevices(
  file: string,
  options: { provider?: string; encoding?: string },
  io: CliIo,
): AsyncGenerator<InstallationRow | { kind: 'problem'; line: number; reason: string; detail: string }> {
  const audience = await openAudience({ path: file, file: resolve(io.cwd, file), defaultProvider: options.provider as ProviderName | undefined, encoding: options.encoding });
  if (audience.shape !== 'devices') throw new UsageError(`${file}: an import needs device tokens (a token, endpoint or subscription column), not only user IDs`);
  for await (const row of audience.rows) {
    if (row.kind === 'problem') yield { kind: 'problem', line: row.line, reason: row.reason, detail: row.detail };
    if (row.kind !== 'device') continue;
    if (row.vars.valid === '0') continue; // a dead device in an export: not brought back
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
        lastSeen: row.vars.last_seen,
      },
    };
  }
}

/** A Parse or LeanCloud `_Installation` export's entries as devices to import. */
function installationDevices(file: string, source: InstallationSource, io: CliIo): Iterable<InstallationRow> {
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    throw new InputError(describeFileError(file, error), { cause: error });
  }
  return readInstallations(text, file, source);
}

export interface RegisterOptions {
  registry?: string;
  user: string;
  provider: string;
  token: string;
  replaces?: string;
  singleDevice?: boolean;
  channels?: string;
  locale?: string;
  timezone?: string;
  environment?: string;
  app?: string;
  badge?: string;
}

/** `devices register`: a device's token arrives, or a refreshed one replaces its old one. */
export async function registerCommand(options: RegisterOptions, io: CliIo): Promise<number> {
  const provider = parseProvider(options.provider)!;
  const checked = checkToken(provider, options.token);
  if (!checked.ok) throw new UsageError(`--token: ${checked.detail}`);
  if (options.environment && options.environment !== 'sandbox' && options.environment !== 'production') throw new UsageError('--environment is sandbox or production');
  const registry = openRegistryFor(options, io);
  try {
    registry.register(
      {
        userId: options.user,
        provider,
        token: checked.token,
        subscription: checked.subscription ? JSON.stringify(checked.subscription) : null,
        locale: options.locale ?? null,
        timezone: options.timezone ?? null,
        environment: (options.environment as ApnsEnvironment | undefined) ?? null,
        app: options.app ?? null,
        badge: options.badge === undefined ? null : parseBadge(options.badge),
        channels: options.channels
          ?.split(',')
          .map((channel) => channel.trim())
          .filter(Boolean),
      },
      { replaces: options.replaces, singleDevice: options.singleDevice },
    );
    writeLine(
      io.stdout,
      `registered ${maskToken(checked.token)} for user ${options.user}: ${counted(registry.devicesOf(options.user).filter((device) => device.valid).length, 'valid device')}`,
    );
    return ExitCode.ok;
  } finally {
    registry.close();
  }
}

export async function listCommand(options: { registry?: string; user?: string; channel?: string; json?: boolean }, io: CliIo): Promise<number> {
  const registry = openRegistryFor(options, io, 'read');
  try {
    const devices = options.user ? registry.devicesOf(options.user) : [...registry.inChannel(options.channel ?? '*', false)];
    if (options.json) writeLine(io.stdout, JSON.stringify(devices));
    else
      for (const device of devices) {
        const state = device.valid ? 'valid' : `invalid (${device.invalidReason})`;
        writeLine(
          io.stdout,
          `${device.provider.padEnd(8)} ${maskToken(device.token).padEnd(34)} ${(device.userId ?? '-').padEnd(12)} ${state}${device.channels.length ? `  channels: ${device.channels.join(', ')}` : ''}`,
        );
      }
    return ExitCode.ok;
  } finally {
    registry.close();
  }
}

export async function statsCommand(options: { registry?: string; json?: boolean }, io: CliIo): Promise<number> {
  const registry = openRegistryFor(options, io, 'read');
  try {
    const stats = registry.stats();
    if (options.json) writeLine(io.stdout, JSON.stringify(stats));
    else {
      writeLine(io.stdout, `${counted(stats.devices, 'device')} (${stats.valid} valid) of ${counted(stats.users, 'user')} in ${registry.path}`);
      for (const [provider, counts] of Object.entries(stats.byProvider)) writeLine(io.stdout, `  ${provider.padEnd(8)} ${counts.valid} valid, ${counts.invalid} invalid`);
      const reasons = Object.entries(stats.invalidByReason)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ');
      if (reasons) writeLine(io.stdout, `  invalid by reason: ${reasons}`);
    }
    return ExitCode.ok;
  } finally {
    registry.close();
  }
}

function parseBadge(value: string): number {
  const badge = Number(value);
  if (!Number.isInteger(badge) || badge < 0) throw new UsageError(`--badge is a whole number (0: the app was opened), not "${value}"`);
  return badge;
}

/** `devices unregister`: logout (one token) or account deletion (every device of a user), with a dated trace. */
export async function unregisterCommand(options: { registry?: string; token?: string; provider?: string; user?: string }, io: CliIo): Promise<number> {
  if ((options.token === undefined) === (options.user === undefined))
    throw new UsageError('devices unregister takes --token (with --provider) for a logout, or --user for a deleted account');
  const provider = options.token !== undefined ? parseProvider(options.provider) : undefined;
  if (options.token !== undefined && !provider) throw new UsageError('--token needs --provider fcm, apns or webpush');
  const registry = openRegistryFor(options, io, 'read');
  try {
    if (options.user !== undefined) {
      const changed = registry.unregister({ userId: options.user });
      writeLine(io.stdout, `unregistered ${counted(changed, 'device')} of user ${options.user} (account deleted)`);
    } else {
      const checked = checkToken(provider!, options.token!);
      const token = checked.ok ? checked.token : options.token!;
      const changed = registry.unregister({ provider: provider!, token });
      if (changed === 0) throw new InputError(`no ${provider} device with token ${maskToken(token)} in ${registry.path}`);
      writeLine(io.stdout, `unregistered ${maskToken(token)} (logout): it gets nothing until it registers again`);
    }
    return ExitCode.ok;
  } finally {
    registry.close();
  }
}

export async function pruneCommand(options: { registry?: string; stale?: string }, io: CliIo): Promise<number> {
  let staleBefore: string | undefined;
  if (options.stale) {
    const seconds = parseDuration(options.stale);
    if (!seconds) throw new UsageError(`--stale takes a duration such as 90d or 12w, not "${options.stale}"`);
    staleBefore = new Date(Date.now() - seconds * 1000).toISOString();
  }
  const registry = openRegistryFor(options, io, 'read');
  try {
    const { invalid, stale } = registry.prune({ staleBefore });
    writeLine(io.stdout, `pruned ${counted(invalid, 'invalid device')}${staleBefore ? ` and ${stale} not seen since ${staleBefore.slice(0, 10)}` : ''}`);
    return ExitCode.ok;
  } finally {
    registry.close();
  }
}

/** `devices export`: every device as CSV, in columns `devices import` reads back. */
export async function exportCommand(options: { registry?: string; out?: string }, io: CliIo): Promise<number> {
  const registry = openRegistryFor(options, io, 'read');
  const out = options.out ? createWriteStream(resolve(io.cwd, options.out), { mode: 0o600 }) : io.stdout;
  try {
    out.write(csvLine(exportColumns));
    for (const device of registry.inChannel('*', false)) {
      const token = device.provider === 'webpush' && device.subscription ? device.subscription : device.token;
      const line = csvLine(
        [
          device.provider,
          token,
          device.userId ?? '',
          device.locale ?? '',
          device.timezone ?? '',
          device.app ?? '',
          device.environment ?? '',
          device.platform ?? '',
          device.channels.join(';'),
          device.valid ? '1' : '0',
          device.invalidReason ?? '',
          device.lastSeen,
        ],
        { guarded: exportFreeText },
      );
      if (!out.write(line)) await once(out, 'drain');
    }
    if (out !== io.stdout) {
      (out as ReturnType<typeof createWriteStream>).end();
      await once(out, 'finish');
    }
    return ExitCode.ok;
  } finally {
    registry.close();
  }
}
