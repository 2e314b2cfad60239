/** One CSV line (RFC 4180): fields with commas, quotes or line breaks are quoted. */
export function csvLine(fields: ReadonlyArray<string | number | undefined>): string {
  return `${fields.map((field) => csvField(field === undefined ? '' : String(field))).join(',')}\n`;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
