import { ExitCode } from '../../errors.js';
import { newVapidKeys } from '../../providers/webpush/vapid.js';
import { writeLine, type CliIo } from '../io.js';

/** Prints a new VAPID key pair: the public key is the browser's applicationServerKey; keep the private key secret. */
export async function vapidKeysCommand(options: { json?: boolean }, io: CliIo): Promise<number> {
  const { publicKey, privateKey } = await newVapidKeys();
  if (options.json) writeLine(io.stdout, JSON.stringify({ publicKey, privateKey }));
  else {
    writeLine(io.stdout, `PUSHCAST_VAPID_PUBLIC_KEY=${publicKey}`);
    writeLine(io.stdout, `PUSHCAST_VAPID_PRIVATE_KEY=${privateKey}`);
  }
  return ExitCode.ok;
}
