import { fileURLToPath } from 'node:url';
import type { CliIo } from '../io.js';
import { sendCommand } from './send.js';

/** fixtures/ ships with the package: the demo must work from any directory. */
const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export async function demoCommand(options: { json?: boolean }, io: CliIo): Promise<number> {
  return sendCommand(
    {
      audience: 'fixtures/audience.csv',
      message: 'fixtures/message.json',
      dryRun: true,
      json: options.json,
      apnsTopic: 'com.example.pushcast',
    },
    { ...io, cwd: fixtures.replace(/fixtures\/?$/, '') },
  );
}
