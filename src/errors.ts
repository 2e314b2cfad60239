import { oneLine } from './domain/quote-value.js';

/**
 * The errors that stop pushcast, each with the exit code the CLI turns it into.
 * A single recipient's failure is never one of these: it is an outcome or a row problem.
 */

export const ExitCode = {
  ok: 0,
  /** Bad usage or bad input, found before anything was sent. */
  usage: 1,
  /** Stopped on a fatal provider or configuration error. */
  fatal: 2,
  /** Finished, but a threshold was crossed (invalid rate, failures, smoke test). */
  threshold: 3,
  /** Interrupted by SIGINT/SIGTERM; the campaign can be resumed. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every way a command can fail, in one place: a stable code each (scripts match on it, as on
 * nodemailer's `EAUTH`), the exit code it ends the command with, the word `--json` has always
 * printed as `error.reason`, and what it means. A code is never renamed or reused; a new kind of
 * failure gets a new one. Each error class below names its code.
 */
export const errorCodes = {
  PUSHCAST_USAGE: { exitCode: ExitCode.usage, reason: 'usage', meaning: 'the command line is wrong: an unknown flag, a missing option, a flag value that cannot be used' },
  PUSHCAST_INPUT: {
    exitCode: ExitCode.usage,
    reason: 'input',
    meaning: 'an input file (audience, message, config, registry import) is missing, unreadable or of an unknown shape',
  },
  PUSHCAST_CAMPAIGN_BUSY: { exitCode: ExitCode.usage, reason: 'campaign-busy', meaning: 'another live process runs this campaign (or this shard of it)' },
  PUSHCAST_LOCK_UNREADABLE: { exitCode: ExitCode.usage, reason: 'lock-unreadable', meaning: "the campaign's lock file cannot be read, so whether a run holds it is unknown" },
  PUSHCAST_LOCK_CONTENDED: { exitCode: ExitCode.usage, reason: 'lock-contended', meaning: 'other processes keep taking and releasing the campaign lock' },
  PUSHCAST_CONFIG: { exitCode: ExitCode.fatal, reason: 'config', meaning: 'a setting or a credential that cannot work (every problem of the settings is named at once)' },
  PUSHCAST_HOST_UNRESOLVED: {
    exitCode: ExitCode.fatal,
    reason: 'config',
    meaning: "a provider's host does not resolve: no network or DNS, or an endpoint setting names a wrong host",
  },
  PUSHCAST_NATIVE_MODULE: { exitCode: ExitCode.fatal, reason: 'config', meaning: 'a native module (better-sqlite3) does not load in this Node.js: it needs npm rebuild' },
  PUSHCAST_REGISTRY_SCHEMA: {
    exitCode: ExitCode.fatal,
    reason: 'config',
    meaning: 'the PostgreSQL registry has no pushcast schema yet, or an older one: run pushcast devices migrate',
  },
  PUSHCAST_REGISTRY: {
    exitCode: ExitCode.fatal,
    reason: 'registry',
    meaning: 'the device registry cannot be read or written: its server is down, a statement timed out, a lock was held too long',
  },
  PUSHCAST_JOURNAL_WRITE: { exitCode: ExitCode.fatal, reason: 'journal', meaning: "the campaign's journal cannot be written (a full disk, an I/O error): nothing more is sent" },
  PUSHCAST_INTERNAL: { exitCode: ExitCode.fatal, reason: 'internal', meaning: 'a bug in pushcast: please report it' },
  PUSHCAST_INTERRUPTED: { exitCode: ExitCode.interrupted, reason: 'interrupted', meaning: 'SIGINT or SIGTERM came before anything was sent; a re-run starts afresh' },
} as const satisfies Record<string, { exitCode: ExitCode; reason: string; meaning: string }>;
export type ErrorCode = keyof typeof errorCodes;

export abstract class PushcastError extends Error {
  /** The stable code of its kind, from `errorCodes`: `--json` prints it as `error.code`. */
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The exit code the CLI ends with, from the catalogue. */
  get exitCode(): ExitCode {
    return errorCodes[this.code].exitCode;
  }

  /** The word `--json` prints as `error.reason`, for scripts to tell a usage error from a campaign another run holds. */
  get reason(): string {
    return errorCodes[this.code].reason;
  }
}

/** The command line itself is wrong: an unknown flag, a missing option. */
export class UsageError extends PushcastError {
  readonly code = 'PUSHCAST_USAGE';
}

/** An input file cannot be used as a whole: missing, unreadable, or of an unknown shape. */
export class InputError extends PushcastError {
  readonly code = 'PUSHCAST_INPUT';
}

/** Configuration or credentials that cannot work; found before or during sending. */
export class ConfigError extends PushcastError {
  readonly code: ErrorCode = 'PUSHCAST_CONFIG';
}

/**
 * A provider's host does not resolve: no network or no DNS, or (named by an endpoint setting) a
 * wrong name. Not a fault of one request: found before anything is sent, it stops the campaign.
 */
export class UnresolvedHostError extends ConfigError {
  override readonly code = 'PUSHCAST_HOST_UNRESOLVED';
  /** `setting`: the one that named the host, when it is not the provider's own. */
  constructor(host: string, setting?: string) {
    super(`cannot resolve ${host}: no network or DNS${setting ? `, or ${setting} names a wrong host` : ''}`);
  }
}

/** A native module that does not load in this Node.js: see `nativeModuleFailure`. */
export class NativeModuleError extends ConfigError {
  override readonly code = 'PUSHCAST_NATIVE_MODULE';
}

/**
 * The campaign's journal could not be written (a full disk, an I/O error): nothing more is sent,
 * since a run that cannot record what it sends can no longer promise never to send it twice.
 */
export class JournalError extends PushcastError {
  readonly code = 'PUSHCAST_JOURNAL_WRITE';
  constructor(path: string, cause: unknown) {
    super(
      `${describeFileError(path, cause)}: the campaign journal cannot be written, so nothing more is sent; free some space (or move it with --journal-dir) and run the same command again`,
      { cause },
    );
  }
}

/** A PostgreSQL registry whose schema this pushcast has not created, or an older one: `devices migrate` brings it up to date. */
export class RegistrySchemaError extends ConfigError {
  override readonly code = 'PUSHCAST_REGISTRY_SCHEMA';
  constructor(label: string, schema: string) {
    super(`${label} has no pushcast schema "${schema}" yet (or an older one): run pushcast devices migrate --registry URL`);
  }
}

/**
 * The device registry cannot be read or written: its server is down or unreachable, a statement
 * timed out, a lock was held too long. Named by its label (a file, or a server without its
 * password); mid-campaign it stops the campaign as a failing disk does.
 */
export class RegistryError extends PushcastError {
  readonly code = 'PUSHCAST_REGISTRY';
  constructor(label: string, reason: string, options?: { cause?: unknown }) {
    super(`device registry ${label}: ${reason}`, options);
  }
}

/**
 * SIGINT or SIGTERM came before the campaign sent anything (while the configuration, the audience,
 * the journal or the credentials were being read): it stops there, and a re-run starts afresh.
 */
export class InterruptedError extends PushcastError {
  readonly code = 'PUSHCAST_INTERRUPTED';
  constructor(stage: string) {
    super(`interrupted ${stage}; nothing was sent`);
  }
}

/** Stops with `InterruptedError` if the signal came already. */
export function throwIfInterrupted(signal: AbortSignal | undefined, stage: string): void {
  if (signal?.aborted) throw new InterruptedError(stage);
}

/**
 * Waits for `work` unless the signal comes first: a slow stage (an OAuth token fetch, a journal
 * of a million lines) must not make a Ctrl-C wait for it. What `work` still does is the caller's
 * to clean up (its `finally` closes the clients).
 */
export async function unlessInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined, stage: string): Promise<T> {
  if (!signal) return work;
  let onAbort!: () => void;
  // Raced even when the signal came already: `work` is under way, and its failure must be handled.
  const interrupted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new InterruptedError(stage));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, interrupted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Node's own file errors, phrased for a person, on one line (the path may come from a file or the environment). */
export function describeFileError(path: string, error: unknown): string {
  return oneLine(`${path}: ${fileErrorReason(error)}`);
}

/** The reason alone, for a message that names the file its own way. */
export function fileErrorReason(error: unknown): string {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, expected a file';
    default:
      return (error as Error)?.message ?? String(error);
  }
}

/**
 * A native module that does not load in this Node.js (built for another one, after a Node upgrade
 * or with npm's nodedir pointing at another Node's headers; or never built), as one line naming the
 * module and the fix, wherever it fails: at require, or when its addon first loads. Else undefined.
 */
export function nativeModuleFailure(error: unknown): NativeModuleError | undefined {
  const message = String((error as Error | undefined)?.message ?? '');
  const abi = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(message);
  const unbuilt = /Could not locate the bindings file/.test(message);
  if ((error as { code?: unknown } | undefined)?.code !== 'ERR_DLOPEN_FAILED' && !abi && !unbuilt) return undefined;
  // The innermost node_modules folder named: pushcast itself may be installed in one.
  const module = [...message.matchAll(/node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/\s']+)[\\/]/g)].pop()?.[1].replace('\\', '/');
  const cause = abi
    ? `was built for another Node.js (module version ${abi[1]}; Node.js ${process.versions.node} needs ${abi[2]})`
    : unbuilt
      ? 'was never built for this install'
      : `did not load (${oneLine(message.split('\n')[0].slice(0, 160))})`;
  const fix = module ? `npm rebuild ${module}` : 'npm rebuild';
  return new NativeModuleError(`${module ?? 'a native module'} ${cause}: run ${fix} where pushcast is installed`, { cause: error });
}
