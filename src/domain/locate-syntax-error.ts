/** A place in a text file, as an editor counts it, and its line with a caret under the column. */
export interface TextPoint {
  line: number;
  column: number;
  /** Two lines: the line of the file (around the column, when long) and a caret under the column. */
  excerpt: string;
}

/** How much of a long line (a minified file) an excerpt shows either side of the column. */
const excerptReach = 40;

/** The line and column of `offset` in `text`, counted from 1. */
export function pointAt(text: string, offset: number): TextPoint {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  const lineText = text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
  let line = 1;
  for (let at = text.indexOf('\n'); at >= 0 && at < start; at = text.indexOf('\n', at + 1)) line++;
  const column = offset - start + 1;
  const from = Math.max(0, column - 1 - excerptReach);
  const shown = lineText.slice(from, column - 1 + excerptReach);
  const before = from > 0 ? '…' : '';
  const after = column - 1 + excerptReach < lineText.length ? '…' : '';
  // Tabs stay tabs under the line, so the caret lands under the column however wide a tab is drawn.
  const padding = `${before}${shown.slice(0, column - 1 - from)}`.replace(/[^\t]/g, ' ');
  return { line, column, excerpt: `${before}${shown}${after}\n${padding}^` };
}

/**
 * Where `text` stops being JSON, and why, in words a person can act on: JSON.parse says "Unexpected
 * token" with no position for most mistakes, and a position in characters for the others. Called
 * once JSON.parse has refused the text; undefined if it finds nothing wrong.
 */
export function locateJsonError(text: string): (TextPoint & { reason: string }) | undefined {
  const found = firstJsonError(text);
  return found && { ...pointAt(text, found.offset), reason: found.reason };
}

const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const valueWords = 'a value (text in "double quotes", a number, true, false, null, an object or a list)';

/** What the scan expects next: `item` and `key` follow a comma, so a closing bracket there is a trailing comma. */
type Expected = 'value' | 'first-item' | 'item' | 'first-key' | 'key' | 'colon' | 'next';

/** A scan of the JSON grammar with a stack of its own rather than recursion: a file of a million "[" is an answer, not a crash. */
function firstJsonError(text: string): { offset: number; reason: string } | undefined {
  const open: Array<'{' | '['> = [];
  let want: Expected = 'value';
  let at = 0;
  const fail = (reason: string) => ({ offset: at, reason });
  for (;;) {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
    if (at === text.length) {
      if (want === 'next' && open.length === 0) return undefined;
      if (text.trim() === '') return fail('the file is empty');
      const inside = open.at(-1);
      return fail(inside ? `the file ends inside ${inside === '{' ? 'an object: a } is missing' : 'a list: a ] is missing'}` : `the file ends where ${valueWords} should be`);
    }
    const char = text[at];
    const close = open.at(-1) === '{' ? '}' : ']';
    if ((want === 'first-item' && char === ']') || (want === 'first-key' && char === '}') || (want === 'next' && open.length > 0 && char === close)) {
      open.pop();
      at++;
      want = 'next';
    } else if ((want === 'item' && char === ']') || (want === 'key' && char === '}')) {
      return fail(`a comma before ${char}: JSON allows none after the last item`);
    } else if (want === 'key' || want === 'first-key') {
      if (char !== '"') return fail(`expected a property name in "double quotes", found ${shown(char)}`);
      const end = stringEnd(text, at);
      if (typeof end !== 'number') return end;
      at = end;
      want = 'colon';
    } else if (want === 'colon') {
      if (char !== ':') return fail(`expected ":" after the property name, found ${shown(char)}`);
      at++;
      want = 'value';
    } else if (want === 'next') {
      if (open.length === 0) return fail(`more after the end of the JSON value: ${shown(char)}`);
      if (char !== ',') return fail(`expected "," or "${close}" after a value, found ${shown(char)}`);
      at++;
      want = close === '}' ? 'key' : 'item';
    } else if (char === '{' || char === '[') {
      open.push(char);
      at++;
      want = char === '{' ? 'first-key' : 'first-item';
    } else if (char === '"') {
      const end = stringEnd(text, at);
      if (typeof end !== 'number') return end;
      at = end;
      want = 'next';
    } else {
      numberPattern.lastIndex = at;
      const word = ['true', 'false', 'null'].find((literal) => text.startsWith(literal, at));
      if (word) at += word.length;
      else if (numberPattern.test(text)) at = numberPattern.lastIndex;
      else return fail(`expected ${valueWords}, found ${shown(char)}`);
      want = 'next';
    }
  }
}

/** Where the text in quotes starting at `start` ends, or what is wrong with it. */
function stringEnd(text: string, start: number): number | { offset: number; reason: string } {
  for (let at = start + 1; at < text.length; at++) {
    const char = text[at];
    if (char === '"') return at + 1;
    if (char === '\\') {
      const escape = text[at + 1];
      if (escape === undefined) break;
      const known = escape === 'u' ? /^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6)) : '"\\/bfnrt'.includes(escape);
      if (!known) return { offset: at, reason: `a backslash before ${shown(escape)} is not an escape JSON knows (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)` };
      at += escape === 'u' ? 5 : 1;
    } else if (char < ' ') {
      const written = JSON.stringify(char).slice(1, -1);
      const named = char === '\n' || char === '\r' ? 'a line break' : char === '\t' ? 'a tab' : 'a control character';
      return { offset: at, reason: `${named} inside text in quotes: write it as ${written}` };
    }
  }
  return { offset: start, reason: 'text in quotes that never ends: a closing " is missing' };
}

function shown(char: string): string {
  return JSON.stringify(char);
}
