import { hostname } from 'node:os';
import { open, stat, unlink } from 'node:fs/promises';
import { readSmallFile, type SmallFile } from '../config/read-small-file.js';
import { oneLine } from '../domain/quote-value.js';
import { PushcastError, JournalError, fileErrorReason } from '../errors.js';

/** What a lock file holds: who runs the campaign. */
interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** A lock that says nothing pushcast can trust: why, and whether it may still be being written. */
interface UnreadableLock {
  unreadable: string;
  /** Empty, or cut before the line break its creator writes last. */
  incomplete?: boolean;
}

/** A lock file still being written by the process that created it is this young at most. */
const writingGraceMs = 10_000;
/** A takeover left half-done by a crashed process is this old at least. */
const takeoverGraceMs = 30_000;
/** A lock is one short line: anything much longer is not one. */
const lockFile: SmallFile = { limit: 4096, what: 'a campaign lock' };

/** Another process runs this campaign (or this shard of it): a second run would send everything again. */
export class CampaignBusyError extends PushcastError {
  readonly code = 'PUSHCAST_CAMPAIGN_BUSY';
  constructor(campaign: string, owner: LockOwner, lockPath: string) {
    super(
      `campaign ${campaign} is already running (pid ${owner.pid} on ${owner.host} since ${owner.startedAt}); if that process is gone, delete ${oneLine(lockPath)} and run again`,
    );
  }
}

/** A lock that cannot be read may be another host's, held by a run going on now: it is never guessed about. */
export class UnreadableLockError extends PushcastError {
  readonly code = 'PUSHCAST_LOCK_UNREADABLE';
  constructor(campaign: string, lockPath: string, why: string) {
    super(
      oneLine(
        `${lockPath}: the lock of campaign ${campaign} cannot be read (${why}), so whether a run holds it is unknown; if no run of this campaign is going on anywhere, delete it and run again`,
      ),
    );
  }
}

/** Other processes keep taking and releasing the lock: none of them is seen holding it long enough to be named. */
export class LockContendedError extends PushcastError {
  readonly code = 'PUSHCAST_LOCK_CONTENDED';
  constructor(lockPath: string) {
    super(`${oneLine(lockPath)}: could not take the campaign lock (other processes keep taking it); try again`);
  }
}

/** What the lock needs of the process it runs in: its pid, and kill(pid, 0) to ask whether another process still runs. */
export type LockingProcess = Pick<NodeJS.Process, 'pid' | 'kill'>;

export interface CampaignLock {
  /** Said when the lock of a run that died on this host was taken over. */
  notice?: string;
  release(): Promise<void>;
}

/**
 * An exclusive lock per campaign journal (and so per shard), beside it as `<journal>.lock`. It is
 * made with O_EXCL, which holds on shared volumes (NFS, a Kubernetes PVC) where flock may not.
 * A lock whose process is gone on this host is taken over, one taker at a time (`.takeover`, also
 * O_EXCL); one held on another host, or one that cannot be read, is never guessed about.
 */
export async function lockCampaign(journalPath: string, campaign: string, ownProcess: LockingProcess): Promise<CampaignLock> {
  const lockPath = `${journalPath}.lock`;
  const me: LockOwner = { pid: ownProcess.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let tries = 0; tries < 20; tries++) {
    if (await create(lockPath, me)) return { release: () => release(lockPath, me) };
    const seen = await readWritten(lockPath);
    if (seen === 'gone') continue;
    if ('unreadable' in seen) throw new UnreadableLockError(campaign, lockPath, seen.unreadable);
    if (!isStale(seen, ownProcess)) throw new CampaignBusyError(campaign, seen, lockPath);
    const taken = await takeOver(lockPath, seen, me);
    if (taken === 'busy') {
      await sleep(100);
      continue;
    }
    if (taken === 'taken') {
      return { notice: `took over the lock of campaign ${campaign} from pid ${seen.pid}, which is no longer running`, release: () => release(lockPath, me) };
    }
  }
  throw new LockContendedError(lockPath);
}

/** The lock as its creator left it: one created a moment ago and not yet written whole is given the moment it needs. */
async function readWritten(lockPath: string): Promise<LockOwner | UnreadableLock | 'gone'> {
  for (;;) {
    const seen = await readOwner(lockPath);
    if (seen === 'gone' || !('unreadable' in seen) || !seen.incomplete) return seen;
    const age = await ageOf(lockPath);
    if (age !== undefined && age >= writingGraceMs) return seen;
    await sleep(100);
  }
}

/** O_EXCL: exactly one process creates the file. */
async function create(lockPath: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new JournalError(lockPath, error);
  }
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(lockPath).catch(() => undefined);
    throw new JournalError(lockPath, error);
  }
  await handle.close();
  return true;
}

async function readOwner(lockPath: string): Promise<LockOwner | UnreadableLock | 'gone'> {
  let text: string;
  try {
    text = (await readSmallFile(lockPath, lockFile)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return { unreadable: fileErrorReason(error) };
  }
  if (text === '') return { unreadable: 'it is empty', incomplete: true };
  let owner: Partial<Record<keyof LockOwner, unknown>>;
  try {
    owner = JSON.parse(text) as typeof owner;
  } catch {
    return { unreadable: 'it is not the JSON pushcast writes', incomplete: !text.endsWith('\n') };
  }
  // Each field is shown in a message as it is: none may be anything but what pushcast writes.
  const { pid, host, startedAt } = owner ?? {};
  if (!(Number.isSafeInteger(pid) && (pid as number) > 0 && (pid as number) < 2 ** 31)) return { unreadable: 'its pid is not a process id' };
  if (typeof host !== 'string' || !/^[\p{L}\p{N}][\p{L}\p{N}._-]{0,254}$/u.test(host)) return { unreadable: 'its host is not a host name' };
  if (typeof startedAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(startedAt) || Number.isNaN(Date.parse(startedAt)))
    return { unreadable: 'its startedAt is not a time' };
  return { pid: pid as number, host, startedAt };
}

/** Left by a process of this host that is no longer running (or by this very process's pid: a restarted container). */
function isStale(owner: LockOwner, ownProcess: LockingProcess): boolean {
  if (owner.host !== hostname()) return false;
  if (owner.pid === ownProcess.pid) return true;
  try {
    ownProcess.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Replaces a stale lock, provided it is still the one judged stale; one taker at a time. */
async function takeOver(lockPath: string, stale: LockOwner, me: LockOwner): Promise<'taken' | 'busy' | 'changed'> {
  const takeoverPath = `${lockPath}.takeover`;
  if (!(await create(takeoverPath, me))) {
    const age = await ageOf(takeoverPath);
    if (age !== undefined && age > takeoverGraceMs) await unlink(takeoverPath).catch(() => undefined);
    return 'busy';
  }
  try {
    const now = await readOwner(lockPath);
    const same = now === 'gone' || (!('unreadable' in now) && now.pid === stale.pid && now.startedAt === stale.startedAt);
    if (!same) return 'changed';
    await unlink(lockPath).catch(() => undefined);
    return (await create(lockPath, me)) ? 'taken' : 'changed';
  } finally {
    await unlink(takeoverPath).catch(() => undefined);
  }
}

/** Removes the lock if it is still ours. */
async function release(lockPath: string, me: LockOwner): Promise<void> {
  const owner = await readOwner(lockPath);
  if (owner !== 'gone' && !('unreadable' in owner) && owner.pid === me.pid && owner.host === me.host && owner.startedAt === me.startedAt)
    await unlink(lockPath).catch(() => undefined);
}

async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
