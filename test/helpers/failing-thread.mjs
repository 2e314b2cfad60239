// A sending thread that fails as a real one can (test/threads.test.ts): it opens any provider,
// then dies before starting a batch (token "die-early"), dies mid-batch once started (token
// "die": the thread exits with code 7), or has its provider throw.
import { parentPort } from 'node:worker_threads';

const started = new Map();
parentPort.on('message', (message) => {
  if (message.type === 'open') parentPort.postMessage({ type: 'opened', provider: message.provider, maxBatch: 500 });
  if (message.type === 'close') parentPort.postMessage({ type: 'closed' });
  if (message.type === 'send') {
    if (message.items[0].token === 'die-early') process.exit(7);
    started.set(message.id, message);
    parentPort.postMessage({ type: 'ready', id: message.id });
  }
  if (message.type !== 'go') return;
  const batch = started.get(message.id);
  started.delete(message.id);
  if (batch.items[0].token === 'die') process.exit(7);
  parentPort.postMessage({ type: 'send-failed', id: message.id, error: { name: 'Error', message: 'socket hang up' } });
});
