import { isInlineContent } from './load-config.js';
import { isSecret, type Setting } from './settings.js';

/** A setting's value as it may be printed: secrets are never shown, only whether and how they were given. */
export function redact(setting: Setting, value: unknown): string {
  if (value === undefined) return '(not set)';
  if (!isSecret(setting)) return Array.isArray(value) ? value.join(', ') : String(value);
  if (setting.kind === 'secret-file' && typeof value === 'string' && !isInlineContent(value) && /[/\\]/.test(value)) {
    return `(secret) in file ${value}`;
  }
  return '(secret, set)';
}
