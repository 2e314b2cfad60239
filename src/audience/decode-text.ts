import { Readable } from 'node:stream';
import { InputError } from '../errors.js';

/** How an audience file is written, as found from its first bytes (or as the user said): reported in the plan. */
export interface TextFormat {
  /** The WHATWG name of the encoding: utf-8, utf-16le, utf-16be, windows-1252… */
  encoding: string;
  /** How it was decided: a byte order mark, the pattern of NUL bytes of UTF-16, --encoding, or the UTF-8 default. */
  encodingFrom: 'bom' | 'nul-bytes' | 'given' | 'default';
  /** The field separator, found from the header line: `,`, `;` (Excel in German, French or Russian locales) or a tab. */
  delimiter: ',' | ';' | '\t';
}

/** Bytes read before deciding: enough for a header and the first rows, however long their tokens. */
const headBytes = 64 * 1024;
const delimiters = [',', ';', '\t'] as const;

/** Checks an encoding name as --encoding gives it; returns the WHATWG name. */
export function encodingName(label: string): string {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    throw new InputError(`--encoding: unknown encoding "${label}" (such as utf-8, utf-16le, windows-1252, iso-8859-15, koi8-r)`);
  }
}

/**
 * Turns an audience's bytes into text, deciding the encoding and the delimiter from the start of
 * the file. A file with no byte order mark and no NUL pattern is UTF-8 unless `encoding` says
 * otherwise, and one that is not (Excel's "CSV" on Windows writes Windows-1252) is refused with
 * the line and what to do, rather than sent as "Ren\uFFFDe".
 */
export async function decodeText(input: Readable, path: string, encoding?: string): Promise<{ text: Readable; format: TextFormat }> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < headBytes) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    head.push(chunk);
    size += chunk.length;
  }
  const bytes = Buffer.concat(head);
  const found = encoding ? { encoding: encodingName(encoding), from: 'given' as const } : detectEncoding(bytes);
  const decoder = new TextDecoder(found.encoding);
  const headText = decoder.decode(bytes, { stream: !ended });
  if (found.from === 'default') refuseIfNotUtf8(bytes, headText, !ended, path);

  async function* text(): AsyncGenerator<string> {
    yield headText;
    if (ended) return;
    for (;;) {
      const next = await chunks.next();
      if (next.done) break;
      yield decoder.decode(typeof next.value === 'string' ? Buffer.from(next.value) : next.value, { stream: true });
    }
    const tail = decoder.decode();
    if (tail) yield tail;
  }
  return { text: Readable.from(text()), format: { encoding: found.encoding, encodingFrom: found.from, delimiter: sniffDelimiter(headText) } };
}

function detectEncoding(bytes: Buffer): { encoding: string; from: TextFormat['encodingFrom'] } {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', from: 'bom' };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', from: 'bom' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', from: 'bom' };
  // A CSV header is ASCII: in UTF-16 without a BOM, every other byte of it is 0.
  const sample = bytes.subarray(0, Math.min(bytes.length, 512) & ~1);
  let zeroOdd = 0;
  let zeroEven = 0;
  for (let i = 0; i < sample.length; i += 2) {
    if (sample[i] === 0) zeroEven++;
    if (sample[i + 1] === 0) zeroOdd++;
  }
  const pairs = sample.length / 2;
  if (pairs >= 2 && zeroOdd > pairs * 0.3 && zeroEven === 0) return { encoding: 'utf-16le', from: 'nul-bytes' };
  if (pairs >= 2 && zeroEven > pairs * 0.3 && zeroOdd === 0) return { encoding: 'utf-16be', from: 'nul-bytes' };
  return { encoding: 'utf-8', from: 'default' };
}

/** A file whose start is not UTF-8 is refused, naming the line of the first byte that is not (it decoded to U+FFFD), and what to do. */
function refuseIfNotUtf8(bytes: Buffer, text: string, more: boolean, path: string): void {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: more });
    return;
  } catch {
    // reported below
  }
  const line = text.slice(0, Math.max(0, text.indexOf('\uFFFD'))).split('\n').length;
  throw new InputError(
    `audience ${path}, line ${line}: the file is not UTF-8 (Excel's plain "CSV" on Windows writes Windows-1252): save it as "CSV UTF-8", or name its encoding, such as --encoding windows-1252`,
  );
}

/** The delimiter of the header line: the most frequent of `,` `;` and tab outside quotes; a comma when none is. */
function sniffDelimiter(text: string): TextFormat['delimiter'] {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && char in counts) counts[char as TextFormat['delimiter']]++;
  }
  return delimiters.reduce((best, candidate) => (counts[candidate] > counts[best] ? candidate : best), delimiters[0]);
}
