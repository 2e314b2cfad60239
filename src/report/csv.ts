import { stringify } from 'csv-stringify/sync';

/**
 * One CSV record (RFC 4180), written by csv-stringify. `guarded` columns hold free text from the
 * audience (a name, a coupon) that a marketer may open in a spreadsheet: see `guardFormula`.
 */
export function csvLine(fields: ReadonlyArray<string | number | undefined>, options: { delimiter?: string; guarded?: ReadonlySet<number> } = {}): string {
  const cells = fields.map((field, index) => {
    const text = field === undefined ? '' : String(field);
    return options.guarded?.has(index) ? guardFormula(text) : text;
  });
  return stringify([cells], { delimiter: options.delimiter ?? ',', record_delimiter: 'unix' });
}

/**
 * A cell a spreadsheet would run as a formula (OWASP's CSV injection: `=`, `@`, and `+` or `-`
 * followed by more than a number) gets a leading `'`, which spreadsheets show as text. A number
 * such as -20 is left alone, and so is every token: only free-text columns are guarded.
 */
export function guardFormula(text: string): string {
  if (/^[=@\t\r]/.test(text) || (/^[+-]/.test(text) && !/^[+-][\d.,\s%]*$/.test(text))) return `'${text}`;
  return text;
}
