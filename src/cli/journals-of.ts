import { resolve } from 'node:path';
import type { PushcastConfig } from '../config/config.js';
import { defaultJournalDir } from '../config/defaults.js';
import { loadConfig } from '../config/load-config.js';
import type { CliIo } from './io.js';

/**
 * The configuration and the journal folder a command that reads journals works with: where send
 * keeps them (--journal-dir, PUSHCAST_JOURNAL_DIR, the config's journalDir, ./.pushcast).
 */
export async function journalsOf(options: { journalDir?: string; config?: string }, io: CliIo): Promise<{ config: PushcastConfig; dir: string }> {
  const { config } = await loadConfig({
    file: options.config,
    cwd: io.cwd,
    env: io.env,
    flags: [{ path: 'journalDir', flag: '--journal-dir', value: options.journalDir }],
    signal: io.signal,
  });
  return { config, dir: resolve(io.cwd, config.journalDir ?? defaultJournalDir) };
}
