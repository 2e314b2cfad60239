import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { getManyValues, isMany, none } from 'stream-chain/defs.js';
import Assembler from 'stream-json/assembler.js';
import { jsonParser, type Token } from 'stream-json/parser.js';
import { jsonVerifier, type VerifierError } from 'stream-json/utils/verifier.js';
import { describeFileError, InputError } from '../errors.js';

/**
 * One top-level entry of an export and the line (from 1) it starts on, or a line of JSON lines that
 * is not one: not JSON, cut short (the file ends in the middle of it), or longer than `longestLine`.
 */
export type JsonEntry = { line: number; value: unknown } | { line: number; broken: 'not-json' | 'cut-short' | 'too-long' };

type Shape = 'array' | 'results' | 'lines';

/** How far into the file `{"results":` is looked for. */
const resultsReach = 4096;
/** A longer line of JSON lines (in characters) is not one entry: it is skipped rather than held. */
export const longestLine = 16 << 20;
const notJson = 'not valid JSON';

/**
 * The entries of an export read from `file` as a stream, in memory that does not grow with it: a
 * JSON array, `{"results": […]}` (when "results" is its first key), or JSON lines, as the first
 * characters say. `path` names the file in messages.
 *
 * A JSON array is read twice: checked whole first, so that a broken or cut-short file imports
 * nothing and says the line and column where it breaks, then read for its entries. A pipe cannot be
 * read twice: it is checked as it goes, and the entries before a break have been handed on. A line
 * of JSON lines that is not JSON is an entry of its own (`broken`), as every line stands alone.
 */
export async function openJsonEntries(file: string, path: string): Promise<AsyncGenerator<JsonEntry>> {
  const regularFile = (await stat(file).catch((error: unknown) => Promise.reject(fileError(path, error)))).isFile();
  const chunks = readChunks(file, path);
  const { shape, head } = await shapeOf(chunks, path);
  if (shape === 'lines') return lineEntries(head, chunks);
  if (!regularFile) return arrayEntries(withHead(head, chunks), shape, path, 'pipe');
  try {
    // The tokenizer alone is the quicker check; the verifier, slower, says where a broken file breaks.
    await feedAll(withHead(head, chunks), new LineFeed(path, { check: 'tokens' }));
  } catch (error) {
    await feedAll(readChunks(file, path), new LineFeed(path, { check: 'verify' }));
    throw error;
  }
  return arrayEntries(readChunks(file, path), shape, path, 'checked');
}

async function feedAll(chunks: AsyncIterable<string>, feed: LineFeed): Promise<void> {
  for await (const text of chunks) feed.feed(text);
  feed.end();
}

function fileError(path: string, error: unknown): InputError {
  return new InputError(describeFileError(path, error), { cause: error });
}

/** The file's text, decoded as UTF-8 and without a byte-order mark. */
async function* readChunks(file: string, path: string): AsyncGenerator<string> {
  let first = true;
  try {
    // In fs's chunks of 64 KiB: 1 MiB ones took 50% longer and 20 MB more for a million installations.
    for await (const chunk of createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>) {
      yield first ? chunk.replace(/^\uFEFF/, '') : chunk;
      first = false;
    }
  } catch (error) {
    throw fileError(path, error);
  }
}

async function* withHead(head: string, chunks: AsyncIterable<string>): AsyncGenerator<string> {
  yield head;
  yield* chunks;
}

/** Reads the file's first characters to say its shape; `head` is what was read. */
async function shapeOf(chunks: AsyncGenerator<string>, path: string): Promise<{ shape: Shape; head: string }> {
  let head = '';
  let start = -1;
  while (start < 0 || (head[start] === '{' && head.length - start < resultsReach)) {
    const next = await chunks.next();
    if (next.done) break;
    head += next.value;
    start = head.search(/\S/);
  }
  if (start < 0) throw new InputError(`${path}: the file is empty`);
  const shape = head[start] === '[' ? 'array' : head[start] === '{' && /^\{\s*"results"\s*:/.test(head.slice(start)) ? 'results' : 'lines';
  return { shape, head };
}

/** JSON lines: each line that is not blank is an entry, or `broken`. */
async function* lineEntries(head: string, chunks: AsyncIterable<string>): AsyncGenerator<JsonEntry> {
  let line = 0;
  let partial = '';
  let tooLong = false;
  const entry = (text: string, terminated: boolean): JsonEntry | undefined => {
    line++;
    if (tooLong) return { line, broken: 'too-long' };
    const row = text.trim();
    if (!row) return undefined;
    try {
      return { line, value: JSON.parse(row) };
    } catch {
      // The last line, with no line break after it, may stop in the middle of its JSON.
      return { line, broken: !terminated && endsEarly(row) ? 'cut-short' : 'not-json' };
    }
  };
  for await (const text of withHead(head, chunks)) {
    let from = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', from)) {
      const found = entry(partial + text.slice(from, end), true);
      if (found) yield found;
      partial = '';
      tooLong = false;
      from = end + 1;
    }
    if (!tooLong) partial += text.slice(from);
    if (partial.length > longestLine) {
      partial = '';
      tooLong = true;
    }
  }
  if (partial || tooLong) {
    const found = entry(partial, false);
    if (found) yield found;
  }
}

/** Whether `text` is the start of a JSON text with no mistake in it, cut before its end. */
function endsEarly(text: string): boolean {
  const verify = jsonVerifier() as Stage;
  try {
    verify(text);
    verify(none);
    return false;
  } catch (error) {
    return (error as Partial<VerifierError>).offset === text.length;
  }
}

/** The entries of a JSON array, or of `{"results": […]}`, from a file checked already or a pipe, checked as it is read. */
async function* arrayEntries(chunks: AsyncIterable<string>, shape: 'array' | 'results', path: string, read: 'checked' | 'pipe'): AsyncGenerator<JsonEntry> {
  const entries: JsonEntry[] = [];
  const collect = new EntryCollector(shape, path, entries);
  const feed = new LineFeed(path, { check: read === 'pipe' ? 'verify' : undefined, pipe: read === 'pipe', tokens: (tokens, line) => collect.take(tokens, line) });
  for await (const text of chunks) {
    feed.feed(text);
    yield* entries.splice(0);
  }
  feed.end();
  yield* entries.splice(0);
}

/** Gathers the entries of the array from stream-json's tokens, each with the line its first token came from. */
class EntryCollector {
  private state: 'start' | 'results-key' | 'results-value' | 'entries' | 'after' = 'start';
  /** How deep in the current entry: 0 between entries. */
  private depth = 0;
  private line = 0;
  private readonly assembler = new Assembler();

  constructor(
    private readonly shape: 'array' | 'results',
    private readonly path: string,
    private readonly entries: JsonEntry[],
  ) {}

  take(tokens: Token[], line: number): void {
    for (const token of tokens) {
      switch (this.state) {
        case 'entries':
          this.entryToken(token, line);
          break;
        case 'start': // the [ or { the shape was read from
          this.state = this.shape === 'array' ? 'entries' : 'results-key';
          break;
        case 'results-key': // "results", its first key
          this.state = 'results-value';
          break;
        case 'results-value':
          if (token.name !== 'startArray') throw new InputError(`${this.path}: "results" is not an array`);
          this.state = 'entries';
          break;
        case 'after': // the rest of {"results": […], …}: checked, not kept
      }
    }
  }

  private entryToken(token: Token, line: number): void {
    if (this.depth === 0) {
      if (token.name === 'endArray') {
        this.state = 'after';
        return;
      }
      this.line = line;
    }
    this.assembler.consume(token);
    if (token.name === 'startObject' || token.name === 'startArray') this.depth++;
    else if (token.name === 'endObject' || token.name === 'endArray') this.depth--;
    if (this.depth === 0) this.entries.push({ line: this.line, value: this.assembler.current });
  }
}

/** A stage of stream-json: it takes text, and `none` once the text ends (stream-chain's flush, which its types leave out). */
type Stage = (text: string | typeof none) => unknown;

/**
 * Feeds stream-json's verifier and tokenizer a piece of text at a time, each piece ending at a line
 * break (or where a chunk ends), and counts the lines, since stream-json counts none that it tells
 * a token. A token comes out of the piece that holds its first character: no JSON token spans a
 * line break (one is whitespace, and not allowed in quotes), and a number or literal cut by a
 * chunk's end is finished by the next piece, on the same line. So every token is on the line being
 * fed: an entry's line is the line of its opening brace.
 */
class LineFeed {
  private line = 1;
  private lineStart = 0;
  private previousLineStart = 0;
  /** Characters fed before the current piece. */
  private fed = 0;
  private readonly verify?: Stage;
  private readonly tokenize?: Stage;

  /**
   * `check`: by the verifier, which says where the text breaks, or by the tokenizer alone (it says
   * only the line); `tokens` takes each piece's tokens and the line they are on.
   */
  constructor(
    private readonly path: string,
    private readonly options: { check?: 'verify' | 'tokens'; pipe?: boolean; tokens?: (tokens: Token[], line: number) => void },
  ) {
    if (options.check === 'verify') this.verify = jsonVerifier() as Stage;
    if (options.tokens || options.check === 'tokens') this.tokenize = jsonParser({ streamValues: false }) as Stage;
  }

  feed(text: string): void {
    for (let from = 0; from < text.length;) {
      const end = text.indexOf('\n', from);
      const to = end < 0 ? text.length : end + 1;
      this.piece(text.slice(from, to));
      from = to;
      if (end >= 0) {
        this.line++;
        this.previousLineStart = this.lineStart;
        this.lineStart = this.fed;
      }
    }
  }

  /** The file ended: a JSON text that did not is an error. */
  end(): void {
    this.piece(none);
  }

  private piece(text: string | typeof none): void {
    try {
      this.verify?.(text);
      const tokens = this.tokenize?.(text);
      if (this.options.tokens && isMany(tokens)) this.options.tokens(getManyValues(tokens) as Token[], this.line);
    } catch (error) {
      throw this.broken(error, text);
    }
    if (text !== none) this.fed += text.length;
  }

  /** The verifier's error (which says where, in characters), as a line and column and a reason in words. */
  private broken(error: unknown, text: string | typeof none): unknown {
    if (error instanceof InputError) return error;
    const offset = (error as Partial<VerifierError>).offset;
    const afterwards = this.options.pipe ? 'the installations before it may have been imported, as a pipe is checked while it is read' : 'nothing was imported';
    if (typeof offset !== 'number') {
      // The tokenizer's, which says no place (the verifier then says it), or a value longer than stream-json holds.
      return new InputError(`${this.path}: ${notJson} at line ${this.line}: ${(error as Error).message}; ${afterwards}`, { cause: error });
    }
    const [line, lineStart] = offset >= this.lineStart ? [this.line, this.lineStart] : [this.line - 1, this.previousLineStart];
    const where = `line ${line}, column ${offset - lineStart + 1}`;
    if (text === none && offset === this.fed) {
      return new InputError(`${this.path}: the file ends at ${where}, in the middle of its JSON: it was cut short; ${afterwards} (export it again in full)`, { cause: error });
    }
    const found = text === none ? undefined : text[offset - this.fed];
    return new InputError(
      `${this.path}: ${notJson}: ${where}: ${reasonOf((error as Error).message, found)}; ${afterwards} (an export is a JSON array, {"results": […]}, or one JSON object per line)`,
      { cause: error },
    );
  }
}

/** The verifier's reason in the words src/domain/locate-syntax-error.ts uses; its own words if it has new ones. */
function reasonOf(message: string, found: string | undefined): string {
  const what = found === undefined ? '' : `, found ${JSON.stringify(found)}`;
  const said = (words: string) => message.includes(words);
  if (said("unexpected token ']'") || said("unexpected token '}'")) return `a comma before ${found ?? 'the closing bracket'}: JSON allows none after the last item`;
  if (said("expected ':'")) return `expected ":" after the property name${what}`;
  if (said('expected an object key')) return `expected a property name in "double quotes"${what}`;
  if (said("expected ','")) return `expected "," or the end of the object or list after a value${what}`;
  if (said("expected '}'") || said("expected ']'")) return `${JSON.stringify(found)} closes ${said("expected '}'") ? 'a list' : 'an object'} that is not open there`;
  if (said('unexpected characters')) return `more after the end of the JSON${what}`;
  if (said('escaped characters')) return `a backslash escape JSON does not know, or a control character such as a line break in quotes${what}`;
  if (said('expected a value')) return `expected a value (text in "double quotes", a number, true, false, null, an object or a list)${what}`;
  if (said('digit') || said('number')) return `a number cut short or malformed${what}`;
  return message.replace(/^ERROR at \d+ \(\d+, \d+\): /, '');
}
