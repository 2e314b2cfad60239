import { stringify } from 'csv-stringify/sync';
import { guardFormula } from '../audience/guard-formula.js';

/**
 * One CSV record (RFC 4180), written by csv-stringify. `guarded` columns hold free text from the
 * audience (a name, a coupon) that a marketer may open in a spreadsheet: see `guardFormula`, which
 * the audience reader undoes, so a file written here reads back to the same values.
 */
export function csvLine(fields: ReadonlyArray<string | number | undefined>, options: { delimiter?: string; guarded?: ReadonlySet<number> } = {}): string {
  const cells = fields.map((field, index) => {
    const text = field === undefined ? '' : String(field);
    return options.guarded?.has(index) ? guardFormula(text) : text;
  });
  return stringify([cells], { delimiter: options.delimiter ?? ',', record_delimiter: 'unix', quoted_match: [lineBreakOrNul] });
}

/**
 * csv-stringify quotes a cell holding the delimiter, a quote or the record delimiter (`\n`), but
 * given a record delimiter it leaves a bare `\r` unquoted, and Excel, LibreOffice and Python's csv
 * end the row there (issue 29). A NUL is kept, quoted: csv-parse and Python's csv (3.11 and later)
 * read it back.
 */
const lineBreakOrNul = /[\r\n\0]/;
