import { resolve } from 'node:path';
import { audienceOfFields, openAudience } from '../audience/read-audience.js';
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
  /** --token, repeatable: a test send to these devices. */
  token?: string[];
  /** --test-line: the row of --audience whose variables fill the template of a test send. */
  testLine?: string;
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
  if (options.token !== undefined && options.token.length > 0) return testSendInputs(options, defaultProvider, io);
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

/**
 * `--token T` (repeatable): a test send to a few devices of one provider, with no journal. With
 * --title and --body (and --data for the message's data), that text as written; with --message,
 * the campaign's own template, its variables from `--data key=value` or from one row of the
 * audience (`--audience FILE --test-line N`), so a person sees on their own phone what the
 * campaign would send.
 */
async function testSendInputs(options: InputOptions, provider: ProviderName | undefined, io: CliIo): Promise<CampaignInputs> {
  if (!provider) throw new UsageError('--token needs --provider fcm, apns or webpush');
  const pairs = keyValues(options.data);
  if (!options.message) {
    if (options.testLine !== undefined) throw new UsageError('--test-line takes the variables of a --message template from a row of --audience: give --message');
    if (options.audience)
      throw new UsageError('give either --audience or --token, not both (to try the campaign on your own device: --token T --message FILE --audience FILE --test-line N)');
    const data = Object.keys(pairs).length > 0 ? pairs : undefined;
    const problems = checkTemplate(JSON.parse(JSON.stringify({ title: options.title, body: options.body, data })) as Record<string, unknown>);
    if (problems.length > 0) throw new UsageError(`the message: ${problems.join('; ')}`);
    // Placeholders mean nothing here: the text is sent as written.
    const literal = (text: string | undefined) => text?.replace(/\{\{/g, '\\{{');
    const template = new CompiledTemplate({ kind: 'notification', title: literal(options.title), body: literal(options.body), data } as MessageTemplate);
    return testAudience(options.token!, provider, {}, { template, messageLabel: '--title/--body' });
  }
  if (options.title !== undefined || options.body !== undefined) throw new UsageError('give --message, or --title and --body, not both');
  if (options.audience && options.testLine === undefined) {
    throw new UsageError(`--token sends to these devices, not to --audience: to fill the template with a row of ${options.audience}, name it with --test-line N`);
  }
  const row: TestRow = options.testLine === undefined ? {} : await testRow(options, io);
  const message = await compileMessage(options, io);
  return testAudience(options.token!, provider, { ...row, vars: { ...row.vars, ...pairs }, columns: [...(row.columns ?? []), ...Object.keys(pairs)] }, message);
}

/** The variables a test send fills its template with: a row's (every column of its audience, empty ones too), and its locale. */
interface TestRow {
  vars?: Record<string, string>;
  columns?: string[];
  locale?: string;
}

/** The recipients of a test send: each --token, with the variables (and locale) it is sent with, read as an audience's rows. */
async function testAudience(
  tokens: string[],
  provider: ProviderName,
  row: TestRow,
  message: { template: CompiledTemplate; messageLabel: string; messageFile?: string },
): Promise<CampaignInputs> {
  const names = [...new Set(row.columns ?? [])].filter((name) => !['provider', 'token', 'locale'].includes(name.toLowerCase()));
  const header = ['provider', 'token', ...(row.locale ? ['locale'] : []), ...names];
  const fields = (token: string) => [provider, token, ...(row.locale ? [row.locale] : []), ...names.map((name) => row.vars?.[name] ?? '')];
  const open = async () => ({ ...audienceOfFields('--token', header, tokens.map(fields)), lineIs: 'token-option' as const });
  return { audience: await open(), ...message, reopen: open };
}

/** Row `--test-line` of --audience: its variables and locale. A row that would not be sent is said, with why. */
async function testRow(options: InputOptions, io: CliIo): Promise<TestRow> {
  const line = Number(options.testLine);
  if (!Number.isInteger(line) || line < 2) throw new UsageError(`--test-line is the line of a row of --audience (2 or more: line 1 is the header), not "${options.testLine}"`);
  if (!options.audience || options.audience === '-') throw new UsageError('--test-line takes a row of --audience FILE: give the file');
  const audience = await openAudience({ path: options.audience, file: resolve(io.cwd, options.audience), encoding: options.encoding, signal: io.signal });
  for await (const row of audience.rows) {
    if (row.line < line) continue;
    if (row.line > line) break;
    if (row.kind === 'problem') throw new UsageError(`--test-line ${line}: ${options.audience}, line ${line} would not be sent: ${row.reason}: ${row.detail}`);
    return { vars: { ...row.vars }, columns: audience.variables, locale: row.locale };
  }
  throw new UsageError(`--test-line ${line}: ${options.audience} has no row that starts at line ${line}`);
}

/** `--data key=value …`. */
function keyValues(pairs: string[] | undefined): Record<string, string> {
  return Object.fromEntries(
    (pairs ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new UsageError(`--data takes key=value, not "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

export function parseProvider(value: string | undefined): ProviderName | undefined {
  if (value === undefined) return undefined;
  const name = value.toLowerCase();
  if (!isProviderName(name)) throw new UsageError(`--provider must be one of ${providerNames.join(', ')}, not "${value}"`);
  return name;
}
