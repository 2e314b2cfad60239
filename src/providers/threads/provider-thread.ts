import { parentPort } from 'node:worker_threads';
import type { ProviderName } from '../../domain/recipient.js';
import { createVerified, providerDescriptors } from '../descriptors.js';
import type { Provider, ProviderDescriptor, Rendered } from '../provider.js';
import type { FromThread, ThreadError, ToThread } from './thread-messages.js';

/**
 * A sending thread: it holds its own clients (sessions, sockets, access tokens) for the providers
 * the main thread opens in it, sends the batches it is handed and answers one outcome per item.
 * Everything a campaign decides (retries, the journal, the report) stays in the main thread.
 */
const port = parentPort!;
const providers = new Map<ProviderName, { provider: Provider; abort: AbortController }>();

function answer(message: FromThread): void {
  port.postMessage(message);
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'open':
      void open(message.provider, message);
      break;
    case 'send':
      void send(message);
      break;
    case 'abort':
      providers.get(message.provider)?.abort.abort();
      break;
    case 'abandon':
      providers.get(message.provider)?.provider.abandon?.();
      break;
    case 'close':
      void Promise.all([...providers.values()].map(({ provider }) => provider.close().catch(() => undefined))).then(() => answer({ type: 'closed' }));
      break;
  }
});

async function open(name: ProviderName, message: ToThread & { type: 'open' }): Promise<void> {
  try {
    const provider = await createVerified(providerDescriptors[name] as ProviderDescriptor<ProviderName>, message.config, message.validateOnly);
    providers.set(name, { provider, abort: new AbortController() });
    answer({ type: 'opened', provider: name, maxBatch: provider.maxBatch });
  } catch (error) {
    answer({ type: 'open-failed', provider: name, error: toThreadError(error) });
  }
}

async function send(message: ToThread & { type: 'send' }): Promise<void> {
  const opened = providers.get(message.provider)!;
  const batch = message.items.map(({ payload, ...recipient }) => ({ provider: message.provider, recipient, payload })) as unknown as Rendered[];
  try {
    answer({ type: 'sent', id: message.id, outcomes: await opened.provider.send(batch as never, opened.abort.signal) });
  } catch (error) {
    // Judged in the main thread, as a throw from a provider there is (engine/lane.ts).
    answer({ type: 'send-failed', id: message.id, error: toThreadError(error) });
  }
}

function toThreadError(error: unknown): ThreadError {
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  return { name, message };
}
