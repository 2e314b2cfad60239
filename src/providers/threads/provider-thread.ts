import { parentPort } from 'node:worker_threads';
import { notSent } from '../../domain/outcome.js';
import { ConfigError } from '../../errors.js';
import type { ProviderName } from '../../domain/recipient.js';
import { relayProviderTokens } from '../apns/provider-token.js';
import { createVerified, providerDescriptors } from '../descriptors.js';
import type { Provider, ProviderDescriptor, Rendered } from '../provider.js';
import type { FromThread, ThreadError, ToThread } from './thread-messages.js';

/**
 * A sending thread: it holds its own clients (sessions, sockets, access tokens) for the providers
 * the main thread opens in it, sends the batches it is handed and answers one outcome per item.
 * Everything a campaign decides (retries, the journal, the report) stays in the main thread.
 */
const port = parentPort!;
/**
 * A provider opened in this thread, and the batches it was handed and has not started: a batch is
 * started (asked `ready`, journaled by the main thread, told `go`) one at a time, when the thread
 * gets to it. A thread busy with others holds the rest unjournaled, so that what a crash leaves
 * journaled as maybe sent has nearly all left.
 */
interface Opened {
  provider: Provider;
  abort: AbortController;
  waiting: Array<ToThread & { type: 'send' }>;
  starting: boolean;
  /** Batches sent whose answer has not been posted yet: each settles once it has. */
  answering: Set<Promise<void>>;
}
const providers = new Map<ProviderName, Opened>();
/** Batches asked `ready`, by id: told whether to go. */
const goes = new Map<number, (ok: boolean) => void>();

function answer(message: FromThread): void {
  port.postMessage(message);
}

/** APNs provider tokens are the main thread's: one for the process, whatever the threads (apns/provider-token.ts). */
const heardProviderToken = relayProviderTokens((generation) => answer({ type: 'provider-token-wanted', generation }));

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'open':
      // It answers opened or open-failed itself, and never rejects.
      void open(message.provider, message);
      break;
    case 'send': {
      const opened = providers.get(message.provider)!;
      opened.waiting.push(message);
      // It answers sent or send-failed for the batch itself (below); nothing waits for it here.
      void startNext(opened);
      break;
    }
    case 'go':
      goes.get(message.id)?.(message.ok);
      goes.delete(message.id);
      break;
    case 'abort': {
      const opened = providers.get(message.provider);
      opened?.abort.abort();
      if (opened) neverSent(opened);
      break;
    }
    case 'abandon': {
      const opened = providers.get(message.provider);
      // In this thread a provider's own abandon ends its requests at once (their answers follow).
      void opened?.provider.abandon?.();
      if (opened) neverSent(opened);
      // Said once the abandoned batches' answers are posted (messages keep their order): the main
      // thread's grace starts from here, however long a busy machine takes to pass the messages.
      void Promise.all(opened?.answering ?? []).then(() => answer({ type: 'abandoned', provider: message.provider }));
      break;
    }
    case 'provider-token':
      heardProviderToken('token' in message ? message.token : new ConfigError(`APNs: the main thread could not sign a provider token: ${message.error}`));
      break;
    case 'close':
      // Each close's failure is dropped (the thread ends anyway); the answer goes once all are done.
      void Promise.all([...providers.values()].map(({ provider }) => provider.close().catch(() => undefined))).then(() => answer({ type: 'closed' }));
      break;
  }
});

async function open(name: ProviderName, message: ToThread & { type: 'open' }): Promise<void> {
  try {
    const provider = await createVerified(providerDescriptors[name] as ProviderDescriptor<ProviderName>, message.config, message.validateOnly);
    providers.set(name, { provider, abort: new AbortController(), waiting: [], starting: false, answering: new Set() });
    answer({ type: 'opened', provider: name, maxBatch: provider.maxBatch });
  } catch (error) {
    answer({ type: 'open-failed', provider: name, error: toThreadError(error) });
  }
}

/** Starts the provider's next waiting batch, once the one before it has started. */
async function startNext(opened: Opened): Promise<void> {
  if (opened.starting) return;
  const message = opened.waiting.shift();
  if (!message) return;
  opened.starting = true;
  const go = await new Promise<boolean>((resolve) => {
    goes.set(message.id, resolve);
    answer({ type: 'ready', id: message.id });
  });
  const batch = message.items.map(({ payload, ...recipient }) => ({ provider: message.provider, recipient, payload })) as unknown as Rendered[];
  const sending = go ? opened.provider.send(batch as never, opened.abort.signal) : Promise.resolve(batch.map(() => notSent));
  const answered = sending.then(
    (outcomes) => answer({ type: 'sent', id: message.id, outcomes }),
    // Judged in the main thread, as a throw from a provider there is (engine/lane.ts).
    (error: unknown) => answer({ type: 'send-failed', id: message.id, error: toThreadError(error) }),
  );
  opened.answering.add(answered);
  // The next batch is asked about once this one's requests have been built and handed to their
  // sockets (a turn of the event loop): a thread behind on its work holds the rest unjournaled.
  await new Promise((resolve) => setImmediate(resolve));
  opened.starting = false;
  // The next batch goes on its own while this one's answer is awaited.
  void startNext(opened);
  await answered;
  opened.answering.delete(answered);
}

/** The campaign is stopping, or the provider stalled: the batches still waiting never left. */
function neverSent(opened: Opened): void {
  for (const message of opened.waiting.splice(0)) answer({ type: 'sent', id: message.id, outcomes: message.items.map(() => notSent) });
}

function toThreadError(error: unknown): ThreadError {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  // Its kinds (a host that does not resolve) stop the campaign as it does: they cross as one.
  return { name: error instanceof ConfigError ? 'ConfigError' : name, message };
}
