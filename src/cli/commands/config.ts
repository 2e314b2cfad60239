import { loadConfig } from '../../config/load-config.js';
import { redact } from '../../config/redact.js';
import { getSetting, settings } from '../../config/settings.js';
import { defaultApnsEnvironment, defaultFcmBatch, defaultInFlight, defaultJournalDir, defaultWorkers, suggestedWorkers, defaultTimeouts } from '../../config/defaults.js';
import { ExitCode } from '../../errors.js';
import { terminalLine, writeLine, type CliIo } from '../io.js';

/** Values used when nothing sets them, as `pushcast config` shows them. */
const defaults: Record<string, string> = {
  'apns.environment': defaultApnsEnvironment,
  concurrency: `fcm ${defaultInFlight.fcm}, apns ${defaultInFlight.apns}, webpush ${defaultInFlight.webpush} (each a sending thread with --workers)`,
  workers: `${defaultWorkers} (the main thread; up to ${suggestedWorkers} on this machine, where cores are free and the provider remote)`,
  rate: 'unlimited',
  journalDir: defaultJournalDir,
  'fcm.batchSize': String(defaultFcmBatch),
  requestTimeout: `${defaultTimeouts.requestSeconds}s`,
  stallTimeout: `${defaultTimeouts.stallSeconds}s`,
};

/** `pushcast config`: the effective configuration, every secret redacted, and where each value came from. */
export async function configCommand(options: { config?: string; json?: boolean }, io: CliIo): Promise<number> {
  const { config, file, sources } = await loadConfig({ file: options.config, cwd: io.cwd, env: io.env, signal: io.signal });
  const rows = settings.map((setting) => {
    const value = getSetting(config, setting.path);
    const source = sources.get(setting.path);
    return {
      setting: setting.path,
      value: value === undefined && defaults[setting.path] ? defaults[setting.path] : redact(setting, value),
      from: source ? `${source.from} ${source.name}` : value === undefined && defaults[setting.path] ? 'default' : '',
    };
  });
  if (options.json) {
    writeLine(io.stdout, JSON.stringify({ file: file ?? null, settings: rows }));
    return ExitCode.ok;
  }
  // Values and paths come from the environment and the file: each line stays one line, escapes escaped.
  writeLine(io.stdout, file ? terminalLine(`config file: ${file}`) : 'config file: none (looked for ./pushcast.config.json, .yaml)');
  const width = Math.max(...rows.map((row) => row.setting.length)) + 2;
  for (const row of rows) {
    if (row.value === '(not set)') continue;
    writeLine(io.stdout, terminalLine(`${row.setting.padEnd(width)}${row.value}${row.from ? `   [${row.from}]` : ''}`));
  }
  const unset = rows.filter((row) => row.value === '(not set)').map((row) => row.setting);
  if (unset.length > 0) writeLine(io.stdout, `not set: ${unset.join(', ')}`);
  return ExitCode.ok;
}
