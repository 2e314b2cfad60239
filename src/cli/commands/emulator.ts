import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { startEmulator, type EmulatorOptions } from '../../emulator/start-emulator.js';
import { dropWays, resetCodes, type DropBy, type ResetCode } from '../../emulator/fate.js';
import { isProviderName, providerNames, type ProviderName } from '../../domain/recipient.js';
import { describeFileError, ExitCode, InputError, UsageError } from '../../errors.js';
import { terminalLine, writeLine, type CliIo } from '../io.js';
import { bundledCampaign, projectFiles } from '../package-files.js';

export interface EmulatorCommandOptions {
  host: string;
  port: string;
  seed?: string;
  unregistered?: string;
  badDeviceToken?: string;
  tooManyRequests?: string;
  unavailable?: string;
  drop?: string;
  dropBy: string;
  late?: string;
  lateBy?: string;
  unauthorized?: string;
  stall?: string;
  goawayStorm?: boolean;
  /** Commander's `--no-apns-throttle`: false when given. */
  apnsThrottle?: boolean;
  resetUnanswered?: string;
  retryAfter?: string;
  latency?: string;
  dead?: string;
  log?: string;
  writeConfig: string | false;
}

export async function emulatorCommand(options: EmulatorCommandOptions, io: CliIo): Promise<number> {
  const emulator = await startEmulator({
    host: options.host,
    port: whole('--port', options.port),
    seed: options.seed,
    unregistered: share('--unregistered', options.unregistered),
    badDeviceToken: share('--bad-device-token', options.badDeviceToken),
    tooManyRequests: share('--too-many-requests', options.tooManyRequests),
    unavailable: share('--unavailable', options.unavailable),
    dropConnection: share('--drop', options.drop),
    dropBy: dropWay(options.dropBy),
    late: share('--late', options.late),
    lateMs: options.lateBy === undefined ? undefined : whole('--late-by', options.lateBy),
    unauthorized: share('--unauthorized', options.unauthorized),
    stall: options.stall === undefined ? undefined : stalled(options.stall),
    goawayStorm: options.goawayStorm,
    apnsThrottle: options.apnsThrottle,
    resetUnanswered: options.resetUnanswered === undefined ? undefined : resetCode(options.resetUnanswered),
    retryAfterSeconds: options.retryAfter === undefined ? undefined : whole('--retry-after', options.retryAfter),
    latencyMs: options.latency === undefined ? undefined : whole('--latency', options.latency),
    dead: options.dead ? readDead(resolve(io.cwd, options.dead)) : undefined,
    logFile: options.log ? resolve(io.cwd, options.log) : undefined,
    keepDelivered: false,
  } satisfies EmulatorOptions);

  writeLine(io.stdout, `pushcast emulator: FCM HTTP v1 (with OAuth), APNs and Web Push on ${emulator.url}`);
  if (options.writeConfig !== false) {
    const file = resolve(io.cwd, options.writeConfig);
    writeFileSync(file, `${JSON.stringify(emulator.config(), null, 2)}\n`, { mode: 0o600 });
    writeLine(io.stdout, `config written to ${options.writeConfig} (the emulator's own throwaway keys and certificate)`);
    const campaign = campaignToSend(io.cwd);
    writeLine(
      io.stdout,
      terminalLine(`send to it:  pushcast send --config ${shellWord(options.writeConfig)} --audience ${shellWord(campaign.audience)} --message ${shellWord(campaign.message)}`),
    );
  }
  writeLine(io.stdout, `counters:    curl -sk ${emulator.url}/_emulator/stats`);
  if (options.log) writeLine(io.stdout, `accepted messages are appended to ${options.log}`);
  writeLine(io.stdout, 'stop with Ctrl-C');

  if (!io.signal.aborted) await once(io.signal, 'abort');
  await emulator.close();
  writeLine(io.stderr, `pushcast emulator: stopped; ${JSON.stringify(emulator.stats().accepted)} accepted`);
  return ExitCode.ok;
}

/**
 * What the hint sends: the files `pushcast init` wrote here, else the sample campaign pushcast
 * ships, by its full path (after a global install, fixtures/ is in no folder of the user's).
 */
function campaignToSend(cwd: string): { audience: string; message: string } {
  const own = { audience: projectFiles.audience, message: projectFiles.message };
  return existsSync(join(cwd, own.audience)) && existsSync(join(cwd, own.message)) ? own : bundledCampaign;
}

/** A file name as a shell reads it back whole: quoted when it holds a space or anything else the shell would act on. */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function share(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${flag} is a share of tokens between 0 and 1 (or 0% to 100%), not "${value}"`);
  return n;
}

/** "fcm,apns", "oauth" (FCM's token endpoint), or "all" (the three providers). */
function stalled(value: string): Array<ProviderName | 'oauth'> {
  if (value.trim() === 'all') return [...providerNames];
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !isProviderName(name) && name !== 'oauth');
  if (unknown.length > 0) throw new UsageError(`--stall takes fcm, apns, webpush, oauth or all, not "${unknown.join(', ')}"`);
  return names as Array<ProviderName | 'oauth'>;
}

function dropWay(value: string): DropBy {
  if ((dropWays as readonly string[]).includes(value)) return value as DropBy;
  throw new UsageError(`--drop-by takes ${dropWays.join(' or ')}, not "${value}"`);
}

function resetCode(value: string): ResetCode {
  if (value in resetCodes) return value as ResetCode;
  throw new UsageError(`--reset-unanswered takes ${Object.keys(resetCodes).join(' or ')}, not "${value}"`);
}

function whole(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number, not "${value}"`);
  return n;
}

function readDead(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean);
  } catch (error) {
    throw new InputError(`--dead ${describeFileError(file, error)}`);
  }
}
