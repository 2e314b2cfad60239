import { isDatabaseUrl, isInlineContent } from './load-config.js';
import { isSecret, type Setting } from './settings.js';

/** A setting's value as it may be printed: secrets are never shown, only whether and how they were given. */
export function redact(setting: Setting, value: unknown): string {
  if (value === undefined) return '(not set)';
  if (typeof value === 'string' && isDatabaseUrl(value)) return withoutPassword(value);
  if (!isSecret(setting)) return Array.isArray(value) ? value.join(', ') : String(value);
  if (setting.kind === 'secret-file' && typeof value === 'string' && !isInlineContent(value) && /[/\\]/.test(value)) {
    return `(secret) in file ${value}`;
  }
  return '(secret, set)';
}

/** A database URL as it may be printed: its password is never shown, only that there is one. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '(secret)';
    return parsed.toString().replace('%28secret%29', '(secret)');
  } catch {
    return '(a URL that does not parse)';
  }
}
