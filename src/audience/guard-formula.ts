/**
 * Spreadsheet safety for free-text cells (a name, a coupon, a provider's words), made exactly
 * reversible so that a file pushcast writes can be sent again unchanged.
 *
 * A cell a spreadsheet would run as a formula (OWASP's CSV injection: it begins with `=`, `@`, a
 * tab or a carriage return, or with `+` or `-` followed by more than a number) is written with a
 * leading `'`, which spreadsheets take as "this cell is text", not as part of its value. A cell
 * that already is apostrophes followed by such a formula gets one more, so `'=x` is written `''=x`.
 * Reading takes exactly that one `'` off again: `unguardFormula(guardFormula(x)) === x` for every
 * string, and a cell `'=1+1` typed in a spreadsheet sends `=1+1`, as the spreadsheet meant.
 */
export function guardFormula(text: string): string {
  return looksLikeFormula(text.replace(/^'+/, '')) ? `'${text}` : text;
}

/** Undoes `guardFormula`: one leading `'` comes off only when apostrophes and then a formula follow it. */
export function unguardFormula(text: string): string {
  return text.startsWith("'") && looksLikeFormula(text.replace(/^'+/, '')) ? text.slice(1) : text;
}

/** A number such as -20 or +49 30 1234 is left alone: a spreadsheet reads it as a number, not a formula. */
function looksLikeFormula(text: string): boolean {
  return /^[=@\t\r]/.test(text) || (/^[+-]/.test(text) && !/^[+-][\d.,\s%]*$/.test(text));
}
