import { Worker } from 'node:worker_threads';
import type { PushcastConfig } from '../../config/config.js';
import { notSent, type Outcome } from '../../domain/outcome.js';
import type { ProviderName } from '../../domain/recipient.js';
import { settledWithin } from '../../domain/settled-within.js';
import { ConfigError } from '../../errors.js';
import { leastBusy } from '../http2/least-busy.js';
import { readTokenKey } from '../apns/create-apns.js';
import { signedProviderToken } from '../apns/provider-token.js';
import type { Provider, Rendered } from '../provider.js';
import type { FromThread, ThreadError, ThreadItem, ToThread } from './thread-messages.js';

/** How long closing waits for a thread to close its sessions before it is ended anyway. */
const closeGraceMs = 5000;

/**
 * The sending threads of one run (--workers): each holds its own provider clients, and a batch
 * goes to the thread with the fewest recipients outstanding. The threads only send: reading,
 * rendering, retries, the journal and the report stay in the main thread, one engine as without
 * threads, so resume, dedup, uncertain handling and Ctrl-C are the same code either way.
 */
export class ProviderThreads {
  private readonly threads: SendingThread[];

  constructor(
    count: number,
    private readonly config: PushcastConfig,
    private readonly validateOnly: boolean,
    /** The threads' module: the real one, or (in a test) one that fails as a thread can. */
    entry: URL = threadEntry(),
  ) {
    this.threads = Array.from({ length: count }, () => new SendingThread(entry, (generation) => this.giveProviderToken(generation)));
  }

  /**
   * The provider, opened (created and its credentials verified) in every thread. `closing` ends the
   * wait (the run is closing): the threads' checks end with the threads.
   */
  async open(name: ProviderName, closing = new AbortController().signal): Promise<Provider> {
    const opened = await Promise.allSettled(this.threads.map((thread) => thread.open(name, this.config, this.validateOnly, closing)));
    const failed = opened.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const maxBatch = Math.min(...opened.map((result) => (result as PromiseFulfilledResult<number>).value));
    return new ThreadedProvider(name, maxBatch, this.threads);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.close()));
  }

  /**
   * A thread asked for the APNs provider token (renewed if `generation` expired): this thread
   * signs it, one for the process, and every thread is told, so each renewal is signed once.
   */
  private giveProviderToken(generation: number | undefined): void {
    // Told either way, so no thread waits for ever (the key was checked as the thread opened APNs).
    void Promise.resolve()
      .then(() => signedProviderToken(readTokenKey(this.config.apns ?? {}), generation))
      .then(
        (token) => this.threads.forEach((thread) => thread.tell({ type: 'provider-token', token })),
        (error: unknown) => this.threads.forEach((thread) => thread.tell({ type: 'provider-token', error: String((error as Error).message) })),
      );
  }
}

/** A provider whose clients live in the sending threads. */
class ThreadedProvider implements Provider {
  private readonly aborts = new WeakSet<AbortSignal>();
  readonly senders: number;
  /** A thread busy with other batches holds this one: it asks to start it when it gets to it. */
  readonly startsWhenReady = true;

  constructor(
    readonly name: ProviderName,
    readonly maxBatch: number,
    private readonly threads: SendingThread[],
  ) {
    this.senders = threads.length;
  }

  async send(batch: ReadonlyArray<Rendered>, signal: AbortSignal, start: () => Promise<boolean> = async () => true): Promise<Outcome[]> {
    if (signal.aborted) return batch.map(() => notSent);
    if (!this.aborts.has(signal)) {
      this.aborts.add(signal);
      signal.addEventListener('abort', () => this.threads.forEach((thread) => thread.abort(this.name)), { once: true });
    }
    const thread = leastBusy(this.threads, (thread) => (thread.died ? Infinity : thread.outstanding));
    if (!thread) return batch.map(() => threadsGone);
    return thread.send(this.name, batch.map(toItem), start);
  }

  async abandon(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.abandon(this.name)));
  }

  async close(): Promise<void> {} // the threads close with the run (ProviderThreads.close)
}

/** One worker thread, and what it was handed and has not answered yet. */
class SendingThread {
  /** Recipients handed over and not answered. */
  outstanding = 0;
  /** Why the thread is gone, if it died. */
  died?: Error;
  private readonly worker: Worker;
  private nextId = 0;
  /** Batches handed over and not answered: `started` once the thread asked to start it (it may have left since). */
  private readonly batches = new Map<number, { count: number; started: boolean; start(): Promise<boolean>; resolve(outcomes: Outcome[]): void; reject(error: Error): void }>();
  private readonly opening = new Map<ProviderName, { resolve(maxBatch: number): void; reject(error: Error): void }>();
  /** Told when the thread has answered every batch of the provider it abandoned (or died). */
  private readonly abandoning = new Map<ProviderName, Array<() => void>>();
  private closed?: () => void;

  constructor(
    entry: URL,
    /** The thread asked for the APNs provider token. */
    private readonly providerTokenWanted: (generation: number | undefined) => void,
  ) {
    this.worker = new Worker(entry);
    this.worker.on('message', (message: FromThread) => this.heard(message));
    this.worker.on('error', (error) => this.die(error));
    this.worker.on('exit', (code) => this.die(new Error(`a sending thread exited (code ${code})`)));
  }

  open(provider: ProviderName, config: PushcastConfig, validateOnly: boolean, closing: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      if (closing.aborted) return reject(new Error('closed'));
      const stopWaiting = () => {
        this.opening.get(provider)?.reject(new Error('closed'));
        this.opening.delete(provider);
      };
      closing.addEventListener('abort', stopWaiting, { once: true });
      const settled = () => closing.removeEventListener('abort', stopWaiting);
      this.opening.set(provider, {
        resolve: (maxBatch) => (settled(), resolve(maxBatch)),
        reject: (error) => (settled(), reject(error)),
      });
      this.post({ type: 'open', provider, config, validateOnly });
    });
  }

  send(provider: ProviderName, items: ThreadItem[], start: () => Promise<boolean>): Promise<Outcome[]> {
    const id = this.nextId++;
    this.outstanding += items.length;
    return new Promise((resolve, reject) => {
      this.batches.set(id, { count: items.length, started: false, start, resolve, reject });
      this.post({ type: 'send', id, provider, items });
    });
  }

  abort(provider: ProviderName): void {
    if (!this.died) this.post({ type: 'abort', provider });
  }

  /** Resolves once the thread has answered every batch of `provider` it held, or is gone. */
  abandon(provider: ProviderName): Promise<void> {
    if (this.died) return Promise.resolve();
    return new Promise((resolve) => {
      this.abandoning.set(provider, [...(this.abandoning.get(provider) ?? []), resolve]);
      this.post({ type: 'abandon', provider });
    });
  }

  async close(): Promise<void> {
    if (!this.died) {
      const closed = new Promise<void>((resolve) => (this.closed = resolve));
      this.post({ type: 'close' });
      await settledWithin(closed, closeGraceMs);
    }
    this.died ??= new Error('closed');
    await this.worker.terminate();
  }

  /** A message nothing waits an answer to; a dead thread is not told. */
  tell(message: ToThread): void {
    if (!this.died) this.post(message);
  }

  private post(message: ToThread): void {
    this.worker.postMessage(message);
  }

  private heard(message: FromThread): void {
    switch (message.type) {
      case 'opened':
        this.opening.get(message.provider)?.resolve(message.maxBatch);
        this.opening.delete(message.provider);
        break;
      case 'open-failed':
        this.opening.get(message.provider)?.reject(fromThread(message.error));
        this.opening.delete(message.provider);
        break;
      case 'ready': {
        const batch = this.batches.get(message.id);
        if (!batch) break;
        batch.started = true;
        // Either way the thread is told whether the batch may go; the answer comes as 'sent'.
        void batch.start().then(
          (ok) => this.post({ type: 'go', id: message.id, ok }),
          () => this.post({ type: 'go', id: message.id, ok: false }),
        );
        break;
      }
      case 'sent':
      case 'send-failed': {
        const batch = this.batches.get(message.id)!;
        this.batches.delete(message.id);
        this.outstanding -= batch.count;
        if (message.type === 'sent') batch.resolve(message.outcomes);
        else batch.reject(fromThread(message.error));
        break;
      }
      case 'abandoned':
        for (const resolve of this.abandoning.get(message.provider) ?? []) resolve();
        this.abandoning.delete(message.provider);
        break;
      case 'provider-token-wanted':
        this.providerTokenWanted(message.generation);
        break;
      case 'closed':
        this.closed?.();
        break;
    }
  }

  /**
   * The thread died: the batches it had started fail as a provider's throw does (the lane counts
   * them uncertain: they may have gone out); those it never started come back not sent. Nothing
   * more is handed to it.
   */
  private die(error: Error): void {
    if (this.died) return;
    this.died = error;
    for (const batch of this.batches.values()) {
      if (batch.started) batch.reject(new Error(`the sending thread died: ${error.message}`));
      else batch.resolve(Array.from({ length: batch.count }, () => notSent));
    }
    this.batches.clear();
    this.outstanding = 0;
    for (const { reject } of this.opening.values()) reject(error);
    this.opening.clear();
    for (const resolve of [...this.abandoning.values()].flat()) resolve();
    this.abandoning.clear();
  }
}

const threadsGone: Outcome = { kind: 'fatal', reason: 'internal-error', fix: 'every sending thread died (see the message above): run the same command again' };

function toItem(item: Rendered): ThreadItem {
  const { token, apnsEnvironment, subscription } = item.recipient;
  return { token, apnsEnvironment, subscription, payload: item.payload };
}

function fromThread(error: ThreadError): Error {
  return error.name === 'ConfigError' ? new ConfigError(error.message) : Object.assign(new Error(error.message), { name: error.name });
}

/** The thread's module. Run from the sources (the tests), it is the built one: `npm test` builds first. */
function threadEntry(): URL {
  const here = new URL('./provider-thread.js', import.meta.url);
  return import.meta.url.endsWith('.ts') ? new URL(here.href.replace('/src/', '/dist/')) : here;
}
