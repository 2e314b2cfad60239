import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { openAudience } from '../audience/read-audience.js';
import type { CampaignInputs } from '../campaign/campaign-inputs.js';
import { isProviderName, providerNames, type ProviderName } from '../domain/recipient.js';
import { UsageError } from '../errors.js';
import { CompiledTemplate } from '../message/compile-template.js';
import { checkTemplate, loadTemplate, type MessageTemplate } from '../message/load-template.js';
import { writeLine, type CliIo } from './io.js';
import type { Hash64 } from '../domain/hash.js';

export interface InputOptions {
  audience?: string;
  message?: string;
  provider?: string;
  token?: string;
  title?: string;
  body?: string;
  data?: string[];
  /** The audience file's encoding, when it has no byte order mark and is not UTF-8. */
  encoding?: string;
  /** This process's shard of the audience: only its recipients are remembered to find duplicates. */
  owns?: (hash: Hash64) => boolean;
  /** Used when no --message is given (`pushcast check`, where nothing is delivered). */
  defaultTemplate?: MessageTemplate;
}

export async function openInputs(options: InputOptions, io: CliIo): Promise<CampaignInputs> {
  const defaultProvider = parseProvider(options.provider);
  if (options.token !== undefined) return singleMessageInputs(options, defaultProvider);
  if (!options.audience) throw new UsageError('send needs --audience FILE (a CSV of tokens or user IDs), or --token for one device; see pushcast send --help');
  const { template, messageLabel, messageFile } = await compileMessage(options, io);
  const fromStdin = options.audience === '-';
  const audienceFile = fromStdin ? undefined : resolve(io.cwd, options.audience);
  // A person who gave `-` at a terminal (often by mistake) must see why nothing happens.
  if (fromStdin && io.stdin.isTTY) writeLine(io.stderr, 'pushcast: reading the audience from the terminal: paste or type the CSV, then Ctrl-D (Ctrl-C stops)');
  const open = () =>
    openAudience({
      path: options.audience!,
      file: audienceFile,
      input: fromStdin ? io.stdin : undefined,
      defaultProvider,
      encoding: options.encoding,
      owns: options.owns,
      signal: io.signal,
    });
  return { audience: await open(), template, messageLabel, messageFile, identity: audienceFile ? { audienceFile } : undefined, reopen: open };
}

/** The message template of --message, or the built-in one where a command has one. */
export async function compileMessage(options: InputOptions, io: CliIo): Promise<{ template: CompiledTemplate; messageLabel: string; messageFile?: string }> {
  if (!options.message && !options.defaultTemplate) throw new UsageError('send needs --message FILE (a JSON message template); see pushcast send --help');
  const messageFile = options.message ? resolve(io.cwd, options.message) : undefined;
  const template = new CompiledTemplate(messageFile ? await loadTemplate(options.message!, messageFile) : options.defaultTemplate!);
  return { template, messageLabel: options.message ?? '(built-in)', messageFile };
}

/** `--token T --provider P --title X --body Y`: one message to one device, for smoke tests. */
async function singleMessageInputs(options: InputOptions, provider: ProviderName | undefined): Promise<CampaignInputs> {
  if (!provider) throw new UsageError('--token needs --provider fcm, apns or webpush');
  if (options.audience) throw new UsageError('give either --audience or --token, not both');
  const data = Object.fromEntries(
    (options.data ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new UsageError(`--data takes key=value, not "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const fields = JSON.parse(JSON.stringify({ title: options.title, body: options.body, data: Object.keys(data).length ? data : undefined })) as Record<string, unknown>;
  const problems = checkTemplate(fields);
  if (problems.length > 0) throw new UsageError(`the message: ${problems.join('; ')}`);
  // Placeholders mean nothing here: the text is sent as written.
  const literal = (text: string | undefined) => text?.replace(/\{\{/g, '\\{{');
  const template = new CompiledTemplate({ kind: 'notification', title: literal(options.title), body: literal(options.body), data } as MessageTemplate);
  const csv = `provider,token\n${provider},"${options.token!.replace(/"/g, '""')}"\n`;
  const open = async () => ({ ...(await openAudience({ path: '--token', input: Readable.from([csv]) })), lineIs: 'token-option' as const });
  return { audience: await open(), template, messageLabel: '--title/--body', reopen: open };
}

export function parseProvider(value: string | undefined): ProviderName | undefined {
  if (value === undefined) return undefined;
  const name = value.toLowerCase();
  if (!isProviderName(name)) throw new UsageError(`--provider must be one of ${providerNames.join(', ')}, not "${value}"`);
  return name;
}
