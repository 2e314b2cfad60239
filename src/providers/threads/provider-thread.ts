import { parentPort } from 'node:worker_threads';
import type { ProviderName } from '../../domain/recipient.js';
import { providerDescriptors } from '../descriptors.js';
import type { Provider, ProviderDescriptor, Rendered } from '../provider.js';
import type { FromThread, ToThread } from './thread-messages.js';

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
    case 'close':
      void Promise.all([...providers.values()].map(({ provider }) => provider.close().catch(() => undefined))).then(() => answer({ type: 'closed' }));
      break;
  }
});

async function open(name: ProviderName, message: ToThread & { type: 'open' }): Promise<void> {
  const descriptor = providerDescriptors[name] as ProviderDescriptor<ProviderName>;
  let provider: Provider | undefined;
  try {
    provider = await descriptor.create(message.config, { validateOnly: message.validateOnly });
    await provider.verify?.(new AbortController().signal);
    providers.set(name, { provider, abort: new AbortController() });
    answer({ type: 'opened', provider: name, maxBatch: provider.maxBatch });
  } catch (error) {
    await provider?.close().catch(() => undefined);
    const { name: errorName, message: text } = error instanceof Error ? error : new Error(String(error));
    answer({ type: 'open-failed', provider: name, error: { name: errorName, message: text } });
  }
}

async function send(message: ToThread & { type: 'send' }): Promise<void> {
  const opened = providers.get(message.provider)!;
  const batch = message.items.map(({ payload, ...recipient }) => ({ provider: message.provider, recipient, payload })) as unknown as Rendered[];
  let outcomes;
  try {
    outcomes = await opened.provider.send(batch as never, opened.abort.signal);
  } catch (error) {
    // A provider answers per recipient; a throw nobody classified may have followed a request out.
    outcomes = batch.map(() => ({ kind: 'uncertain' as const, reason: 'no-answer' as const, detail: (error as Error).message }));
  }
  answer({ type: 'sent', id: message.id, outcomes });
}
