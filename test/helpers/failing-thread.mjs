// A sending thread that fails as a real one can (test/threads.test.ts): it opens any provider,
// then dies mid-batch (token "die": the thread exits with code 7) or has its provider throw.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (message) => {
  if (message.type === 'open') parentPort.postMessage({ type: 'opened', provider: message.provider, maxBatch: 500 });
  if (message.type === 'close') parentPort.postMessage({ type: 'closed' });
  if (message.type !== 'send') return;
  if (message.items[0].token === 'die') process.exit(7);
  parentPort.postMessage({ type: 'send-failed', id: message.id, error: { name: 'Error', message: 'socket hang up' } });
});
