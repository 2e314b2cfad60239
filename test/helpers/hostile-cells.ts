/**
 * Free-text cells a spreadsheet or a CSV reader could take for something else: formulas (OWASP's
 * triggers `=`, `+`, `-`, `@`, tab, carriage return), a spreadsheet's text mark before them, line
 * breaks of every kind, quotes, the three delimiters, NUL, and numbers that are no formula.
 */
export const hostileCells = [
  '=1+1',
  '+1+1',
  '-1+1',
  '@SUM(A1)',
  '\t=1+1',
  '\tTab',
  '\r=1+1',
  'bare\r=1+1',
  'crlf\r\n=1+1',
  'lf\n=1+1',
  'say "hi"',
  '"',
  'a,b',
  'a;b',
  'a\tb',
  'nul\0here',
  '\0',
  "'=1+1",
  "''=1+1",
  "'plain",
  "'",
  '-20%',
  '+49 30 1234',
  '-',
  '',
  ' ',
  'Renée 🎉',
];

/** Every string up to `length` characters over `alphabet`, and `count` longer ones drawn from it (seeded: the same each run). */
export function generatedCells(alphabet: string[], length: number, count: number): string[] {
  let all = [''];
  for (let size = 1, last = ['']; size <= length; size++) {
    last = last.flatMap((prefix) => alphabet.map((char) => prefix + char));
    all = all.concat(last);
  }
  let seed = 29;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < count; i++) {
    const size = 5 + Math.floor(random() * 26);
    all.push(Array.from({ length: size }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
  }
  return all;
}
export const alphabet = ["'", '=', '+', '-', '@', '\t', '\r', '\n', '"', ',', ';', '\0', '1', '%', ' ', 'a', 'é'];

/** What a spreadsheet runs as a formula, told independently of guardFormula: OWASP's triggers, a signed number aside. */
export const runsAsFormula = (cell: string) => /^[=@\t\r]/.test(cell) || (/^[+-]/.test(cell) && !/^[+-][\d.,\s%]*$/.test(cell));
