import type { CompiledTemplate } from './compile-template.js';

/**
 * Placeholders no row can fill, because the audience has no such column: found once, before
 * anything is read, rather than as one missing-variable row after another. Those a template
 * allows to be missing (`{{default x "…"}}`, `{{#if x}}`) are not among them.
 */
export function unknownPlaceholders(template: CompiledTemplate, columns: readonly string[]): string[] {
  return template.placeholders.required
    .filter((name) => !columns.includes(name))
    .map((name) => {
      const near = closest(name, columns);
      return `{{${name}}} names no column of the audience${near ? ` (did you mean {{${near}}}?)` : ''}`;
    });
}

/** The column within two edits of `name`, ignoring case, if there is one. */
function closest(name: string, columns: readonly string[]): string | undefined {
  let best: { column: string; distance: number } | undefined;
  for (const column of columns) {
    const distance = editDistance(name.toLowerCase(), column.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { column, distance };
  }
  return best?.column;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
