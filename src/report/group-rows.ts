/** Rows with the same outcome, reason and detail, said once with their lines: 142 identical rows are one row. */
export interface RowGroup<T> {
  first: T;
  lines: number[];
}

/** Groups rows by what they say (`same`), in the order each first appears. */
export function groupRows<T extends { line: number }>(rows: readonly T[], same: (row: T) => string): Array<RowGroup<T>> {
  const groups = new Map<string, RowGroup<T>>();
  for (const row of rows) {
    const key = same(row);
    const group = groups.get(key);
    if (group) group.lines.push(row.line);
    else groups.set(key, { first: row, lines: [row.line] });
  }
  return [...groups.values()];
}

/** "4-24, 30, 41-43": ascending lines as ranges, cut short with an ellipsis past `maxParts` ranges. */
export function lineRanges(lines: readonly number[], maxParts = 4, dash = '-'): string {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}${dash}${sorted[j]}`);
    i = j + 1;
  }
  return parts.length > maxParts ? `${parts.slice(0, maxParts).join(', ')}, …` : parts.join(', ');
}
