import { ExitCode } from '../../errors.js';
import { writeLine, type CliIo } from '../io.js';

/** Prints a new VAPID key pair: the public key is the browser's applicationServerKey; keep the private key secret. */
export async function vapidKeysCommand(options: { json?: boolean }, io: CliIo): Promise<number> {
  const { default: webpush } = (await import('web-push')) as unknown as { default: typeof import('web-push') };
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  if (options.json) writeLine(io.stdout, JSON.stringify({ publicKey, privateKey }));
  else {
    writeLine(io.stdout, `PUSHCAST_VAPID_PUBLIC_KEY=${publicKey}`);
    writeLine(io.stdout, `PUSHCAST_VAPID_PRIVATE_KEY=${privateKey}`);
  }
  return ExitCode.ok;
}
