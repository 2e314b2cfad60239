import { hostname } from 'node:os';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { PushcastError, ExitCode, JournalError } from '../errors.js';

/** What a lock file holds: who runs the campaign. */
interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** A lock file still being written by the process that created it is this young at most. */
const writingGraceMs = 10_000;
/** A takeover left half-done by a crashed process is this old at least. */
const takeoverGraceMs = 30_000;

/** Another process runs this campaign (or this shard of it): a second run would send everything again. */
export class CampaignBusyError extends PushcastError {
  constructor(campaign: string, owner: LockOwner, lockPath: string) {
    super(
      `campaign ${campaign} is already running (pid ${owner.pid} on ${owner.host} since ${owner.startedAt}); if that process is gone, delete ${lockPath} and run again`,
      ExitCode.usage,
    );
  }
}

export interface CampaignLock {
  /** Said when the lock of a run that died on this host was taken over. */
  notice?: string;
  release(): Promise<void>;
}

/**
 * An exclusive lock per campaign journal (and so per shard), beside it as `<journal>.lock`. It is
 * made with O_EXCL, which holds on shared volumes (NFS, a Kubernetes PVC) where flock may not.
 * A lock whose process is gone on this host is taken over, one taker at a time (`.takeover`, also
 * O_EXCL); one held on another host is never guessed about.
 */
export async function lockCampaign(journalPath: string, campaign: string): Promise<CampaignLock> {
  const lockPath = `${journalPath}.lock`;
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let tries = 0; tries < 20; tries++) {
    if (await create(lockPath, me)) return { release: () => release(lockPath, me) };
    const seen = await readOwner(lockPath);
    if (seen === 'gone') continue;
    if (seen === 'unreadable') {
      const age = await ageOf(lockPath);
      if (age !== undefined && age < writingGraceMs) {
        await sleep(100);
        continue;
      }
    } else if (!isStale(seen)) throw new CampaignBusyError(campaign, seen, lockPath);
    const taken = await takeOver(lockPath, seen, me);
    if (taken === 'busy') {
      await sleep(100);
      continue;
    }
    if (taken === 'taken') {
      const notice =
        seen === 'unreadable' ? `took over the unreadable lock ${lockPath}` : `took over the lock of campaign ${campaign} from pid ${seen.pid}, which is no longer running`;
      return { notice, release: () => release(lockPath, me) };
    }
  }
  throw new PushcastError(`${lockPath}: could not take the campaign lock (other processes keep taking it); try again`, ExitCode.usage);
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

async function readOwner(lockPath: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw new JournalError(lockPath, error);
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Left by a process of this host that is no longer running (or by this very process's pid: a restarted container). */
function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Replaces a stale lock, provided it is still the one judged stale; one taker at a time. */
async function takeOver(lockPath: string, stale: LockOwner | 'unreadable', me: LockOwner): Promise<'taken' | 'busy' | 'changed'> {
  const takeoverPath = `${lockPath}.takeover`;
  if (!(await create(takeoverPath, me))) {
    const age = await ageOf(takeoverPath);
    if (age !== undefined && age > takeoverGraceMs) await unlink(takeoverPath).catch(() => undefined);
    return 'busy';
  }
  try {
    const now = await readOwner(lockPath);
    const same = now === 'gone' || (stale === 'unreadable' ? now === 'unreadable' : now !== 'unreadable' && now.pid === stale.pid && now.startedAt === stale.startedAt);
    if (!same) return 'changed';
    await unlink(lockPath).catch(() => undefined);
    return (await create(lockPath, me)) ? 'taken' : 'changed';
  } finally {
    await unlink(takeoverPath).catch(() => undefined);
  }
}

/** Removes the lock if it is still ours. */
async function release(lockPath: string, me: LockOwner): Promise<void> {
  const owner = await readOwner(lockPath).catch(() => 'unreadable' as const);
  if (typeof owner === 'object' && owner.pid === me.pid && owner.host === me.host && owner.startedAt === me.startedAt) await unlink(lockPath).catch(() => undefined);
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
