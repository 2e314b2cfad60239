import { createHash } from 'node:crypto';
import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { PushcastConfig } from '../config/config.js';
import { defaultJournalDir } from '../config/defaults.js';
import { derivedCampaignId } from '../domain/campaign-id-form.js';
import type { ProviderName } from '../domain/recipient.js';
import { emptyTally } from '../domain/tally.js';
import { describeFileError, ExitCode, InputError, JournalError, throwIfInterrupted, UsageError } from '../errors.js';
import type { BroadcastAnswer, Broadcaster, BroadcastTarget } from '../providers/broadcast.js';
import { buildRecord, RecordLists, type BroadcastRecord, type CampaignRecord } from '../report/campaign-record.js';
import { checkOutputPaths, prepareJournalDir } from './check-output-paths.js';
import { lockCampaign, type LockingProcess } from './campaign-lock.js';
import type { CampaignResult } from './send-campaign.js';
import { startMeasuring } from './measure-resources.js';

/**
 * Sends that reach many devices with one request (an FCM topic or condition): the provider fans
 * the message out on its side and answers once, with no word per device. There is no audience,
 * no journal of recipients and no per-device count; what a re-run must know is whether the one
 * request went, so each campaign keeps a small file of it beside the journals,
 * `<campaign>.broadcast.json`, written before the request leaves (at most once: a run that died
 * mid-request, or got no answer, leaves it `uncertain`, and a re-run sends nothing unless
 * --resend-uncertain) and after its answer.
 */
export interface BroadcastSettings {
  config: PushcastConfig;
  cwd: string;
  ownProcess: LockingProcess;
  /** The campaign's id; derived from the message file's contents and the target when not given. */
  campaign?: string;
  /** --no-journal: remember nothing, so a re-run sends again. */
  journal?: boolean;
  resendUncertain?: boolean;
  outputs?: { report?: string };
  signal?: AbortSignal;
  warn?(text: string): void;
}

/** What the caller knows before the campaign's id: the message (built once for every device) and its target. */
export interface BroadcastPlan {
  provider: ProviderName;
  target: BroadcastTarget;
  message: { file: string; path: string };
  /** The analytics label the message carries (FCM keeps its delivery data by label); undefined with --no-label. */
  label(campaign: string): string | undefined;
  /** Opens the provider's client with the message built for it, labelled: called only when the request is to be made. */
  open(label: string | undefined): Promise<Broadcaster>;
}

/** What the campaign's file says of its one request. */
interface SentState {
  state: 'sending' | 'accepted' | 'uncertain';
  target: BroadcastTarget;
  sha256: string;
  at: string;
  messageId?: string;
  reason?: string;
}

const fanOutNote =
  'one answer for every device; the provider fans the message out afterwards, not at once (minutes for a large topic or channel), and names no device or dead token';

/** A broadcast campaign's default id: the message file's contents and the target, so the same command again is the same campaign. */
export function broadcastCampaignId(sha256: string, target: BroadcastTarget): string {
  return derivedCampaignId(createHash('sha256').update(`broadcast\u0000${target.kind}\u0000${target.value}\u0000${sha256}`).digest('hex'));
}

export async function sendBroadcast(plan: BroadcastPlan, settings: BroadcastSettings): Promise<CampaignResult> {
  const { cwd, outputs = {} } = settings;
  throwIfInterrupted(settings.signal, 'before sending');
  checkOutputPaths([{ flag: '--report', path: outputs.report }], cwd);
  const measure = startMeasuring();
  const sha256 = createHash('sha256')
    .update(await readFile(plan.message.path))
    .digest('hex');
  const campaign = settings.campaign ?? broadcastCampaignId(sha256, plan.target);
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(campaign)) throw new UsageError(`--campaign may use letters, digits, . _ and -, not "${campaign}"`);
  const label = plan.label(campaign);
  const journalDir = settings.config.journalDir ?? defaultJournalDir;
  const stateFile = settings.journal === false ? undefined : join(resolve(cwd, journalDir), `${campaign}.broadcast.json`);
  const lock = stateFile ? (prepareJournalDir(dirname(stateFile), journalDir), await lockCampaign(stateFile, campaign, settings.ownProcess)) : undefined;
  if (lock?.notice) settings.warn?.(lock.notice);
  const startedAt = new Date();
  let section: BroadcastRecord;
  // The provider refused the sender (its credentials), not the message.
  let senderRefused = false;
  try {
    const earlier = stateFile ? await readState(stateFile) : undefined;
    if (earlier && (earlier.state === 'accepted' || !settings.resendUncertain)) {
      // Sent, or perhaps sent, by an earlier run: this one makes no request (at most once).
      section = {
        ...common(plan, 0, 'earlier-run'),
        outcome: earlier.state === 'accepted' ? 'accepted' : 'uncertain',
        sentAt: earlier.at,
        ...(earlier.messageId ? { messageId: earlier.messageId } : {}),
        ...(earlier.reason ? { reason: earlier.reason } : {}),
      };
    } else {
      throwIfInterrupted(settings.signal, 'before sending');
      const broadcaster = await plan.open(label);
      try {
        const at = new Date().toISOString();
        if (stateFile) await writeState(stateFile, { state: 'sending', target: plan.target, sha256, at });
        const answer = await broadcaster.send();
        if (stateFile) await recordAnswer(stateFile, answer, { target: plan.target, sha256, at });
        section = { ...common(plan, 1, 'this-run'), ...answerFields(answer), sentAt: at };
        senderRefused = answer.kind === 'refused' && Boolean(answer.stopsSender);
      } finally {
        await broadcaster.close();
      }
    }
  } finally {
    await lock?.release();
  }
  const tally = emptyTally();
  tally.sends = section.requests;
  if (section.outcome === 'not-sent' || senderRefused) tally.status = 'stopped';
  const record: CampaignRecord = buildRecord({
    campaign,
    tally,
    lists: new RecordLists(),
    suspects: [],
    resources: measure(),
    startedAt,
    message: { file: plan.message.file, sha256 },
    ...(label ? { fcm: { analyticsLabel: label } } : {}),
    ...(stateFile ? { files: { journal: stateFile } } : {}),
    broadcast: section,
  });
  if (outputs.report) {
    await writeFile(resolve(cwd, outputs.report), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 }).catch((error: unknown) => {
      settings.warn?.(`the report was not written: ${describeFileError(outputs.report!, error)}`);
    });
  }
  return { record, ...verdict(section, { remembered: Boolean(stateFile), senderRefused }) };
}

function common(plan: BroadcastPlan, requests: number, by: BroadcastRecord['by']): Pick<BroadcastRecord, 'provider' | 'target' | 'requests' | 'by' | 'perDeviceOutcome' | 'note'> {
  return { provider: plan.provider, target: plan.target, requests, by, perDeviceOutcome: false, note: fanOutNote };
}

function answerFields(answer: BroadcastAnswer): Pick<BroadcastRecord, 'outcome' | 'messageId' | 'reason' | 'detail'> {
  if (answer.kind === 'accepted') return { outcome: 'accepted', messageId: answer.id };
  return { outcome: answer.kind, reason: answer.reason, detail: answer.detail };
}

/**
 * Accepted: 0. Refused: as a campaign whose every recipient was refused, 3 (nothing got through),
 * or 2 when the credentials are at fault; never reached the provider: 2. Uncertain: 3, and the
 * re-run sends nothing unless --resend-uncertain.
 */
function verdict(section: BroadcastRecord, run: { remembered: boolean; senderRefused: boolean }): Pick<CampaignResult, 'exitCode' | 'problems'> {
  const why = section.reason ? ` (${section.reason}${section.detail ? `: ${section.detail}` : ''})` : '';
  switch (section.outcome) {
    case 'accepted':
      return {
        exitCode: ExitCode.ok,
        problems: section.by === 'earlier-run' ? [`an earlier run sent this message (${section.messageId}) at ${section.sentAt}: nothing was sent`] : [],
      };
    case 'not-sent':
      return { exitCode: ExitCode.fatal, problems: [`the request never reached ${section.provider}${why}: nothing was sent; run the same command again`] };
    case 'refused':
      return { exitCode: run.senderRefused ? ExitCode.fatal : ExitCode.threshold, problems: [`${section.provider} refused the message${why}: nothing got through`] };
    case 'uncertain': {
      const rerun = run.remembered ? 'running the same command again sends nothing unless --resend-uncertain, which risks a second push' : 'this run kept no journal';
      const when = section.by === 'earlier-run' ? `an earlier run's request (at ${section.sentAt}) got no answer${why}` : `no answer${why}`;
      return { exitCode: ExitCode.threshold, problems: [`${when}: the message may have gone out to every device; ${rerun}`] };
    }
  }
}

async function readState(file: string): Promise<SentState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError(`the campaign's broadcast file ${describeFileError(file, error)}`, { cause: error });
  }
  try {
    const state = JSON.parse(text) as SentState;
    // A run that died mid-request left `sending`: whether it went is unknown.
    return state.state === 'sending' ? { ...state, state: 'uncertain', reason: state.reason ?? 'died-mid-request' } : state;
  } catch {
    return { state: 'uncertain', target: { kind: 'topic', value: '' }, sha256: '', at: 'unknown', reason: 'unreadable-state-file' };
  }
}

/** The state, durably (written whole, synced, renamed into place) before the request leaves. */
async function writeState(file: string, state: SentState): Promise<void> {
  const partial = `${file}.partial`;
  try {
    const handle = await open(partial, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(state)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, file);
  } catch (error) {
    throw new JournalError(file, error);
  }
}

/** After the answer: accepted and uncertain are kept; refused or never sent, nothing went out, and a re-run sends. */
async function recordAnswer(file: string, answer: BroadcastAnswer, state: Omit<SentState, 'state'>): Promise<void> {
  if (answer.kind === 'accepted') return writeState(file, { ...state, state: 'accepted', messageId: answer.id });
  if (answer.kind === 'uncertain') return writeState(file, { ...state, state: 'uncertain', reason: answer.reason });
  await unlink(file).catch(() => undefined);
}
