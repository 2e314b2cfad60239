/** The most of a value a message quotes: enough to recognise it, never a whole file. */
const quotedLength = 60;

/**
 * A value from a file or the environment as a message shows it: in double quotes, on one line, and
 * cut short when long, with its length said. What is not text is shown as JSON (a list, an object;
 * one that contains itself, as a YAML alias can make, is named rather than shown).
 */
export function quoted(value: unknown): string {
  const isText = typeof value === 'string';
  const text = isText ? value : asJson(value);
  const long = text.length > quotedLength;
  // Never half a surrogate pair.
  const head = text.slice(0, /[\uD800-\uDBFF]/.test(text[quotedLength - 1] ?? '') ? quotedLength - 1 : quotedLength);
  const shown = oneLine(long ? `${head}…` : text);
  return `${isText ? `"${shown}"` : shown}${long ? ` (${text.length.toLocaleString('en-US')} characters)` : ''}`;
}

/**
 * Text from a file or the environment set into a line of a message (a path, a host name): its line
 * breaks written out as \n and \r, so that it cannot start a line of its own, such as a forged
 * "campaign done". The terminal's other control characters are escaped where the line is printed.
 */
export function oneLine(text: string): string {
  return text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

function asJson(value: unknown): string {
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    // A structure that contains itself.
  }
  return Array.isArray(value) ? 'a list' : typeof value === 'object' && value !== null ? 'an object' : String(value);
}

/**
 * Text from outside (a file, the environment, a provider) with the characters a terminal or a
 * page would act on shown instead: C0 and C1 controls as \xNN (an escape sequence from a binary
 * file's "header"), and the bidirectional controls U+202A–U+202E and U+2066–U+2069 as \uXXXX (a
 * right-to-left override makes a file name read backwards). Line breaks and tabs stay.
 */
export function showControls(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are shown escaped
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`)
      .replace(/[\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).toUpperCase()}`)
  );
}
