import { startEmulator } from '../../emulator/start-emulator.js';
import { writeLine, type CliIo } from '../io.js';
import { bundledCampaign } from '../package-files.js';
import { runSend } from '../run-send.js';

/**
 * `npm start`: the bundled campaign (fixtures/) sent for real through the real client libraries
 * to the emulator, started in this process. A share of tokens is dead so the report has something to say.
 */
export async function demoCommand(options: { json?: boolean; dryRun?: boolean }, io: CliIo): Promise<number> {
  const emulator = await startEmulator({ seed: 'demo', unregistered: 0.2 });
  try {
    if (!options.json) writeLine(io.stderr, `demo: sending fixtures/audience.csv through the local provider emulator at ${emulator.url}`);
    return await runSend(
      // No journal and no registry feedback: the demo runs again and again, each time in full, and
      // writes nothing where it is run, whatever is there.
      {
        // Shipped with pushcast, so `npm start` and `pushcast demo` work from any folder.
        audience: bundledCampaign.audience,
        message: bundledCampaign.message,
        json: options.json,
        dryRun: options.dryRun,
        campaign: 'demo',
        journal: false,
        feedback: false,
      },
      io,
      { config: emulator.config() },
    );
  } finally {
    await emulator.close();
  }
}
