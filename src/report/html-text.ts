import { showControls } from '../domain/quote-value.js';

/**
 * Text for HTML: every character that could open markup is written as an entity, and control
 * characters and direction overrides (which would make a file name read backwards) as visible escapes.
 */
export function text(raw: string): string {
  return showControls(raw).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
