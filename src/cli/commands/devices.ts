import { counted } from '../../domain/count-words.js';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { isFreeTextColumn } from '../../audience/read-audience.js';
import { maskToken, type ApnsEnvironment, type ProviderName } from '../../domain/recipient.js';
import { ageForms, parseAgeDays } from '../../config/parse-duration.js';
import { checkToken } from '../../audience/check-token.js';
import { ExitCode, InputError, UsageError } from '../../errors.js';
import { csvLine } from '../../report/csv.js';
import { checkAttributes, deviceState, type Device, type DeviceRegistry, type DeviceState } from '../../registry/registry.js';
import { quoted } from '../../domain/quote-value.js';
import { defaultMaxAgeDays, staleCutoff } from '../../registry/resolve-users.js';
import type { InstallationSource } from '../../registry/installation-export.js';
import { importDevices, openImport } from '../../registry/import-devices.js';
import { startMeasuring } from '../../campaign/measure-resources.js';
import { terminalLine, writeLine, writeNotice, type CliIo } from '../io.js';
import { parseMaxAge } from '../send-flags.js';
import { openRegistryFor } from '../registry-for.js';
import { openRegistry, registryTarget } from '../../registry/open-registry.js';
import { parseProvider } from '../send-inputs.js';

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

/** `devices import FILE`: upserts a token-list CSV (with optional channels), or a Parse or LeanCloud `_Installation` export, in batched transactions. */
export async function importCommand(file: string, options: { registry?: string; provider?: string; encoding?: string; from?: string; json?: boolean }, io: CliIo): Promise<number> {
  const source = options.from === undefined ? 'csv' : installationSource(options.from);
  const rows = await openImport(file, { cwd: io.cwd, source, provider: options.provider as ProviderName | undefined, encoding: options.encoding });
  const registry = await openRegistryFor(options, io);
  try {
    const measure = startMeasuring();
    const { imported, invalid, problems, conflicts } = await importDevices(registry, rows);
    const resources = measure();
    const seconds = resources.seconds;
    if (options.json) writeLine(io.stdout, JSON.stringify({ imported, invalid, skipped: problems.length, problems, conflicts, resources }));
    else {
      const marked = invalid > 0 ? ` (${invalid} marked invalid, as the export had them)` : '';
      writeLine(
        io.stdout,
        `imported ${counted(imported, 'device')}${marked} into ${registry.label} in ${seconds.toFixed(1)} s (${Math.round(imported / Math.max(seconds, 0.001))}/s)`,
      );
      for (const problem of problems.slice(0, 20)) writeLine(io.stdout, terminalLine(`  line ${problem.line}: ${problem.reason}: ${problem.detail}`));
      if (problems.length > 20) writeLine(io.stdout, `  … and ${problems.length - 20} more (--json lists them)`);
      for (const conflict of conflicts.slice(0, 20)) {
        writeLine(
          io.stdout,
          terminalLine(
            `  lines ${conflict.lines[0]} and ${conflict.lines[1]} list the same ${conflict.provider} token ${maskToken(conflict.token)}: kept line ${conflict.keptLine}, seen last (user ${conflict.keptUser ?? 'none'})`,
          ),
        );
      }
      if (conflicts.length > 20) writeLine(io.stdout, `  … and ${conflicts.length - 20} more tokens listed twice (--json lists them)`);
    }
    return ExitCode.ok;
  } finally {
    await registry.close();
  }
}

function installationSource(value: string): InstallationSource {
  if (value === 'parse' || value === 'leancloud') return value;
  throw new UsageError(`--from takes parse or leancloud (their _Installation exports), not "${value}"`);
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
  const provider = options.provider as ProviderName; // one of commander's choices
  const checked = checkToken(provider, options.token);
  if (!checked.ok) throw new UsageError(`--token: ${checked.detail}`);
  if (options.environment && options.environment !== 'sandbox' && options.environment !== 'production') throw new UsageError('--environment is sandbox or production');
  const registry = await openRegistryFor(options, io);
  try {
    await registry.register(
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
      `registered ${maskToken(checked.token)} for user ${options.user}: ${counted((await registry.devicesOf(options.user)).filter((device) => device.valid).length, 'valid device')}`,
    );
    return ExitCode.ok;
  } finally {
    await registry.close();
  }
}

export async function listCommand(options: { registry?: string; user?: string; channel?: string; maxAge?: string; json?: boolean }, io: CliIo): Promise<number> {
  const staleBefore = staleCutoff({ maxAgeDays: parseMaxAge(options.maxAge) });
  const registry = await openRegistryFor(options, io, 'read');
  try {
    const devices = options.user ? await registry.devicesOf(options.user) : [];
    if (!options.user) for await (const device of registry.selectDevices({ channel: options.channel, includeInvalid: true })) devices.push(device);
    const listed = devices.map((device) => ({
      ...device,
      state: deviceState({ valid: device.valid, unregistered: device.unregisteredAt !== null, stale: staleBefore !== undefined && device.lastSeen < staleBefore }),
    }));
    if (options.json) writeLine(io.stdout, JSON.stringify(listed));
    else
      for (const device of listed) {
        writeLine(
          io.stdout,
          terminalLine(
            `${device.provider.padEnd(8)} ${maskToken(device.token).padEnd(34)} ${(device.userId ?? '-').padEnd(12)} ${describeState(device)}${device.channels.length ? `  channels: ${device.channels.join(', ')}` : ''}`,
          ),
        );
      }
    return ExitCode.ok;
  } finally {
    await registry.close();
  }
}

/** A device's state for a person: with why it is invalid or unregistered, and since when it is stale. */
function describeState(device: Device & { state: DeviceState }): string {
  switch (device.state) {
    case 'invalid':
      return `invalid (${device.invalidReason})`;
    case 'unregistered':
      return `unregistered (${device.unregisteredReason ?? 'no reason kept'}, ${device.unregisteredAt!.slice(0, 10)})`;
    case 'stale':
      return `stale (last seen ${device.lastSeen.slice(0, 10)})`;
    case 'valid':
      return 'valid';
  }
}

export async function statsCommand(options: { registry?: string; maxAge?: string; json?: boolean }, io: CliIo): Promise<number> {
  const maxAgeDays = parseMaxAge(options.maxAge) ?? defaultMaxAgeDays;
  const registry = await openRegistryFor(options, io, 'read');
  try {
    const stats = await registry.stats({ staleBefore: staleCutoff({ maxAgeDays }) });
    if (options.json) writeLine(io.stdout, JSON.stringify({ ...stats, maxAgeDays }));
    else {
      const stale = maxAgeDays > 0 ? `, ${stats.stale} stale (not seen for ${counted(maxAgeDays, 'day')})` : '';
      writeLine(
        io.stdout,
        `${counted(stats.devices, 'device')} of ${counted(stats.users, 'user')} in ${registry.label}: ${stats.valid} valid, ${stats.invalid} invalid, ${stats.unregistered} unregistered${stale}`,
      );
      for (const [provider, counts] of Object.entries(stats.byProvider))
        writeLine(
          io.stdout,
          `  ${provider.padEnd(8)} ${counts.valid} valid, ${counts.invalid} invalid, ${counts.unregistered} unregistered${maxAgeDays > 0 ? `, ${counts.stale} stale` : ''}`,
        );
      for (const [state, byReason] of [
        ['invalid', stats.invalidByReason],
        ['unregistered', stats.unregisteredByReason],
      ] as const) {
        const reasons = Object.entries(byReason)
          .map(([reason, n]) => `${reason} ${n}`)
          .join(', ');
        if (reasons) writeLine(io.stdout, terminalLine(`  ${state} by reason: ${reasons}`));
      }
    }
    return ExitCode.ok;
  } finally {
    await registry.close();
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
  const registry = await openRegistryFor(options, io, 'read');
  try {
    if (options.user !== undefined) {
      const changed = await registry.unregister({ userId: options.user });
      writeLine(io.stdout, `unregistered ${counted(changed, 'device')} of user ${options.user} (account deleted)`);
    } else {
      const checked = checkToken(provider!, options.token!);
      const token = checked.ok ? checked.token : options.token!;
      const changed = await registry.unregister({ provider: provider!, token });
      if (changed === 0) throw new InputError(`no ${provider} device with token ${maskToken(token)} in ${registry.label}`);
      writeLine(io.stdout, `unregistered ${maskToken(token)} (logout): it gets nothing until it registers again`);
    }
    return ExitCode.ok;
  } finally {
    await registry.close();
  }
}

/**
 * `devices set --user U plan=pro country=IR`: sets attributes of every device of a user (or, with
 * --token and --provider, of one device); `key=` removes one. --where and templates read them.
 */
export async function setCommand(assignments: string[], options: { registry?: string; token?: string; provider?: string; user?: string }, io: CliIo): Promise<number> {
  if ((options.token === undefined) === (options.user === undefined))
    throw new UsageError('devices set takes --user (every device of the user) or --token with --provider (one device)');
  const provider = options.token !== undefined ? parseProvider(options.provider) : undefined;
  if (options.token !== undefined && !provider) throw new UsageError('--token needs --provider fcm, apns or webpush');
  if (assignments.length === 0) throw new UsageError('devices set needs at least one NAME=VALUE (NAME= removes the attribute)');
  const changes = checkAttributes(
    Object.fromEntries(
      assignments.map((assignment) => {
        const at = assignment.indexOf('=');
        if (at <= 0) throw new UsageError(`${quoted(assignment)}: write NAME=VALUE (plan=pro), or NAME= to remove it`);
        const value = assignment.slice(at + 1);
        return [assignment.slice(0, at), value === '' ? null : value];
      }),
    ),
  );
  const checked = provider && checkToken(provider, options.token!);
  const token = checked && checked.ok ? checked.token : options.token!;
  const registry = await openRegistryFor(options, io, 'update');
  try {
    const changed = await registry.setAttributes(options.user !== undefined ? { userId: options.user } : { provider: provider!, token }, changes);
    const whose = options.user !== undefined ? `of user ${options.user}` : maskToken(token);
    if (changed === 0) throw new InputError(`no device ${whose} in ${registry.label}`);
    const said = Object.entries(changes).map(([name, value]) => (value === null ? `${name} removed` : `${name}=${value}`));
    writeLine(io.stdout, `${counted(changed, 'device')} ${whose}: ${said.join(', ')}`);
    return ExitCode.ok;
  } finally {
    await registry.close();
  }
}

export interface PruneOptions {
  registry?: string;
  stale?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

/**
 * `devices prune`: drops invalid devices and, with --stale, those not seen for that long. More
 * than a tenth of the registry goes only with --yes or a "yes" typed at a terminal: a typo in
 * --stale, or a send that marked a whole app invalid, should not empty the registry unasked.
 */
export async function pruneCommand(options: PruneOptions, io: CliIo): Promise<number> {
  const staleBefore = options.stale === undefined ? undefined : staleCutoff({ maxAgeDays: parseStale(options.stale) });
  const registry = await openRegistryFor(options, io, 'read');
  try {
    const counts = await registry.pruneCounts({ staleBefore });
    const toDelete = counts.invalid + counts.stale;
    const share = `${toDelete} of ${counted(counts.devices, 'device')} (${percent(toDelete, counts.devices)})`;
    const reasons = `${counts.invalid} invalid${staleBefore ? `, ${counts.stale} not seen since ${staleBefore.slice(0, 10)} (stale)` : ''}`;
    if (options.dryRun) {
      await listPrunable(registry, { staleBefore, counts, share, reasons, json: options.json }, io);
      return ExitCode.ok;
    }
    if (toDelete * 10 > counts.devices && !options.yes) {
      const refusal = await confirmLargePrune(`prune would delete ${share}: ${reasons}, more than a tenth of the registry`, `delete ${share}? [y/N] `, io);
      if (refusal !== undefined) return refusal;
    }
    const pruned = await registry.prune({ staleBefore });
    if (options.json) writeLine(io.stdout, JSON.stringify({ deleted: pruned.invalid + pruned.stale, of: counts.devices, byReason: pruned, staleBefore: staleBefore ?? null }));
    else writeLine(io.stdout, `pruned ${counted(pruned.invalid, 'invalid device')}${staleBefore ? ` and ${pruned.stale} not seen since ${staleBefore.slice(0, 10)}` : ''}`);
    return ExitCode.ok;
  } finally {
    await registry.close();
  }
}

/** --stale: an age as --max-age reads it, but not 0, which would be every device. */
function parseStale(value: string): number {
  const days = parseAgeDays(value);
  if (!days) throw new UsageError(`--stale takes ${ageForms}, more than 0, not "${value}"`);
  return days;
}

function percent(part: number, whole: number): string {
  return `${whole === 0 ? 0 : Number(((100 * part) / whole).toFixed(1))}%`;
}

/** Devices listed by --dry-run as text before the rest is left to --json: a terminal's worth. */
const dryRunShown = 20;

/** `prune --dry-run`: how many would go and why, and which, tokens masked; nothing is deleted. */
async function listPrunable(
  registry: DeviceRegistry,
  plan: { staleBefore?: string; counts: { devices: number; invalid: number; stale: number }; share: string; reasons: string; json?: boolean },
  io: CliIo,
): Promise<void> {
  const { counts } = plan;
  const write = async (text: string) => {
    if (!io.stdout.write(text)) await once(io.stdout, 'drain');
  };
  if (plan.json) {
    const head = {
      dryRun: true,
      wouldDelete: counts.invalid + counts.stale,
      of: counts.devices,
      byReason: { invalid: counts.invalid, stale: counts.stale },
      staleBefore: plan.staleBefore ?? null,
    };
    await write(`${JSON.stringify(head).slice(0, -1)},"devices":[`);
    let first = true;
    for await (const device of registry.pruneCandidates(plan)) {
      const shown = {
        provider: device.provider,
        token: maskToken(device.token),
        userId: device.userId,
        reason: device.reason,
        invalidReason: device.invalidReason,
        lastSeen: device.lastSeen,
      };
      await write(`${first ? '' : ','}${JSON.stringify(shown)}`);
      first = false;
    }
    await write(']}\n');
    return;
  }
  writeLine(io.stdout, terminalLine(`would prune ${plan.share}: ${plan.reasons}; nothing deleted (--dry-run)`));
  let shown = 0;
  for await (const device of registry.pruneCandidates(plan)) {
    if (shown++ === dryRunShown) break;
    const reason = device.reason === 'invalid' ? `invalid (${device.invalidReason})` : 'stale';
    writeLine(
      io.stdout,
      terminalLine(
        `  ${device.provider.padEnd(8)} ${maskToken(device.token).padEnd(34)} ${(device.userId ?? '-').padEnd(12)} ${reason.padEnd(24)} last seen ${device.lastSeen.slice(0, 10)}`,
      ),
    );
  }
  const more = counts.invalid + counts.stale - dryRunShown;
  if (more > 0) writeLine(io.stdout, `  … and ${more} more (--json lists them all)`);
}

/**
 * Asks at a terminal before a large prune; off one (a script, cron) refuses it, since nobody is
 * there to ask. Returns the exit code when nothing is to be deleted, undefined to go on.
 */
async function confirmLargePrune(what: string, question: string, io: CliIo): Promise<number | undefined> {
  if (!io.stdin.isTTY || !io.stderr.isTTY) throw new UsageError(`${what}: nothing was deleted; check them with --dry-run, then pass --yes to delete them`);
  writeLine(io.stderr, `${what} (--dry-run lists them)`);
  const answer = await answerLine(question, io);
  if (answer === undefined) {
    writeLine(io.stderr, 'pushcast: interrupted: nothing was deleted');
    return ExitCode.interrupted;
  }
  if (/^\s*y(es)?\s*$/i.test(answer)) return undefined;
  writeLine(io.stderr, 'pushcast: nothing was deleted (the answer was not yes)');
  return ExitCode.usage;
}

/** One line typed at the terminal ("" if its input ended), or undefined on Ctrl-C. The terminal stays in its normal mode, so Ctrl-C is a signal. */
async function answerLine(question: string, io: CliIo): Promise<string | undefined> {
  const lines = createInterface({ input: io.stdin, terminal: false });
  io.stderr.write(question);
  try {
    return await new Promise<string | undefined>((resolve) => {
      lines.once('line', resolve);
      lines.once('close', () => resolve(''));
      if (io.signal.aborted) resolve(undefined);
      io.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
  } finally {
    lines.close();
  }
}

/** `devices export`: every device as CSV, in columns `devices import` reads back. */
export async function exportCommand(options: { registry?: string; out?: string }, io: CliIo): Promise<number> {
  const registry = await openRegistryFor(options, io, 'read');
  const out = options.out ? createWriteStream(resolve(io.cwd, options.out), { mode: 0o600 }) : io.stdout;
  try {
    out.write(csvLine(exportColumns));
    for await (const device of registry.selectDevices({ includeInvalid: true })) {
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
    await registry.close();
  }
}

/** Devices per write when one registry is copied into another. */
const copyBatch = 5000;

/**
 * `devices migrate`: brings the registry's schema up to this pushcast's (a PostgreSQL schema is
 * created); with --from and --to, copies every device of one registry into another, as it is
 * (validity, traces, badges, dates), and compares the counts of both at the end.
 */
export async function migrateCommand(options: { registry?: string; from?: string; to?: string; json?: boolean }, io: CliIo): Promise<number> {
  if ((options.from === undefined) !== (options.to === undefined)) throw new UsageError('devices migrate copies a registry with --from FILE|URL and --to FILE|URL together');
  if (options.from === undefined) {
    const notes: string[] = [];
    const target = registryTarget(options.registry ?? io.env.PUSHCAST_REGISTRY, io.cwd, io.env);
    const registry = await openRegistry(target, { migrate: true, notice: (text) => notes.push(text) });
    await registry.close();
    if (options.json) writeLine(io.stdout, JSON.stringify({ registry: registry.label, created: notes.length > 0 }));
    else writeLine(io.stdout, terminalLine(`device registry ${registry.label}: the schema is up to date${notes.length > 0 ? ' (created now)' : ''}`));
    return ExitCode.ok;
  }
  const source = await openRegistryFor({ registry: options.from }, io, 'read');
  try {
    const target = await openRegistry(registryTarget(options.to!, io.cwd, io.env), { migrate: true, notice: (text) => writeNotice(io, text) });
    try {
      const measure = startMeasuring();
      let batch: Device[] = [];
      for await (const device of source.selectDevices({ includeInvalid: true })) {
        batch.push(device);
        if (batch.length >= copyBatch) {
          await target.copyIn(batch);
          batch = [];
        }
      }
      await target.copyIn(batch);
      const [from, to] = [await source.stats(), await target.stats()];
      const compared = (['devices', 'users', 'valid', 'invalid', 'unregistered'] as const).map((count) => ({ count, from: from[count], to: to[count] }));
      const differ = compared.filter((row) => row.from !== row.to);
      if (options.json) writeLine(io.stdout, JSON.stringify({ from: source.label, to: target.label, counts: compared, same: differ.length === 0, resources: measure() }));
      else {
        writeLine(io.stdout, terminalLine(`copied ${counted(from.devices, 'device')} from ${source.label} to ${target.label}`));
        for (const row of compared)
          writeLine(io.stdout, `  ${row.count.padEnd(13)} ${String(row.from).padStart(10)} ${String(row.to).padStart(10)}${row.from === row.to ? '' : '  differs'}`);
      }
      if (differ.length === 0) return ExitCode.ok;
      writeLine(
        io.stderr,
        terminalLine(
          `pushcast: the counts differ after the copy (${differ.map((row) => `${row.count} ${row.from} → ${row.to}`).join(', ')}): ${target.label} held other devices before, or one was written meanwhile`,
        ),
      );
      return ExitCode.fatal;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
