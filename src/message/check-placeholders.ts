import { closestName } from '../domain/closest-name.js';
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
      const near = closestName(name, columns);
      return `{{${name}}} names no column of the audience${near ? ` (did you mean {{${near}}}?)` : ''}`;
    });
}
