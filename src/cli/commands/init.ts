import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline/promises';
import { initConfigSections } from '../../config/init-placeholders.js';
import { isProviderName, providerNames, type ProviderName } from '../../domain/recipient.js';
import { ExitCode, UsageError } from '../../errors.js';
import { writeLine, type CliIo } from '../io.js';
import { configSchemaFile, projectFiles } from '../package-files.js';

/** What init writes, here. */
const sampleRows: Record<ProviderName, string> = {
  fcm: 'fcm,REPLACE-with-an-FCM-registration-token-from-your-app:APA91b-sample,u1001,en,Alice',
  apns: 'apns,0000000000000000000000000000000000000000000000000000000000000000,u1002,fa,سارا',
  webpush: `webpush,"${JSON.stringify({ endpoint: 'https://fcm.googleapis.com/fcm/send/REPLACE', keys: { p256dh: 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U', auth: 'tBHItJI5svbpez7KI4CCXg' } }).replace(/"/g, '""')}",u1003,ru,Дмитрий`,
};

export async function initCommand(options: { providers?: string; force?: boolean }, io: CliIo): Promise<number> {
  const providers = options.providers ? parseProviders(options.providers) : io.stdin && (io.stdin as { isTTY?: boolean }).isTTY ? await ask(io) : [...providerNames];
  const existing = Object.values(projectFiles).filter((name) => existsSync(join(io.cwd, name)));
  if (existing.length > 0 && !options.force) {
    throw new UsageError(`${existing.join(', ')} already ${existing.length > 1 ? 'exist' : 'exists'}: nothing was written (--force overwrites)`);
  }
  const config = { $schema: schemaReference(io.cwd), ...Object.fromEntries(providers.map((name) => [name, initConfigSections[name]])) };
  await writeFile(join(io.cwd, projectFiles.config), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await writeFile(
    join(io.cwd, projectFiles.message),
    `${JSON.stringify({ title: 'Hello {{default name "there"}}', body: 'Your weekly summary is ready.', data: { screen: 'summary' }, group: 'weekly-summary', ttl: '1d', locales: { fa: { title: 'سلام {{default name "دوست"}}' }, ru: { title: 'Привет, {{default name "друг"}}' } } }, null, 2)}\n`,
  );
  await writeFile(join(io.cwd, projectFiles.audience), `provider,token,user_id,locale,name\n${providers.map((name) => sampleRows[name]).join('\n')}\n`);
  writeLine(io.stdout, `wrote ${projectFiles.config} (${providers.join(', ')}), ${projectFiles.message} and ${projectFiles.audience}`);
  writeLine(io.stdout, 'next:');
  writeLine(io.stdout, `  pushcast send --audience ${projectFiles.audience} --message ${projectFiles.message} --dry-run   # see the plan`);
  writeLine(io.stdout, `  then put your credentials in ${projectFiles.config} (or the environment) and run: pushcast doctor`);
  return ExitCode.ok;
}

/**
 * The config's "$schema", for an editor's completion and checks: the schema of the pushcast that
 * writes it, which exists wherever that is installed. Within this folder (the project's
 * node_modules, a clone) as a relative path, which holds for everyone who checks the project out;
 * otherwise (a global install) as a file URL: "$schema" is a URI reference, and a URL with its
 * scheme is read the same on every system, where a bare path (C:\… on Windows) may not be.
 */
function schemaReference(cwd: string): string {
  const path = relative(cwd, configSchemaFile);
  if (path === '..' || path.startsWith(`..${sep}`) || isAbsolute(path)) return pathToFileURL(configSchemaFile).href;
  return `./${path.split(sep).join('/')}`;
}

function parseProviders(value: string): ProviderName[] {
  const names = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0 || !names.every(isProviderName)) throw new UsageError(`--providers takes a list of ${providerNames.join(', ')}, not "${value}"`);
  return names;
}

async function ask(io: CliIo): Promise<ProviderName[]> {
  const prompt = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await prompt.question(`Which providers do you send with? (${providerNames.join(', ')}) [all]: `);
    return answer.trim() ? parseProviders(answer) : [...providerNames];
  } finally {
    prompt.close();
  }
}
