import { ConfigError, describeFileError } from '../errors.js';
import { isInlineContent } from './load-config.js';
import { FileTooBigError, readSmallFileSync, type SmallFile } from './read-small-file.js';

/** A raw P-256 private key in base64url, as VAPID keys are written. */
const vapidKeyPattern = /^[A-Za-z0-9_-]{43}=?$/;

/**
 * The biggest key file read: a .p8 key or a service account JSON is a few KB, a .p12 with its
 * chain some more, and a `ca` bundle of every public authority about 220 KB.
 */
const keyFile: SmallFile = { limit: 1024 * 1024, what: 'key material' };

/**
 * A setting that holds key material either inline (PEM, JSON, a base64url VAPID key) or as a
 * path to a file, told apart by the content's shape. When the file cannot be read, the message
 * names the path only if the value could not be key material itself: a secret is never echoed.
 */
export function readSecret(setting: string, value: string): string {
  const trimmed = value.trim();
  if (isInlineContent(trimmed) || vapidKeyPattern.test(trimmed)) return trimmed;
  return readSecretFile(setting, trimmed).toString('utf8').trim();
}

/** Binary key material (a .p12/.pfx file): a path, or `base64:` and the file's bytes (for a CI secret). */
export function readSecretBytes(setting: string, value: string): Buffer {
  const trimmed = value.trim();
  if (trimmed.startsWith(inlineBase64)) return Buffer.from(trimmed.slice(inlineBase64.length), 'base64');
  return readSecretFile(setting, trimmed);
}

const inlineBase64 = 'base64:';

function readSecretFile(setting: string, trimmed: string): Buffer {
  try {
    return readSmallFileSync(trimmed, keyFile);
  } catch (error) {
    // A file too big was opened: the value is its path, not a key.
    const safeToShow = error instanceof FileTooBigError || (/[/\\]/.test(trimmed) && !/\s/.test(trimmed) && trimmed.length < 300 && /\.[A-Za-z0-9]{1,8}$/.test(trimmed));
    const reason = safeToShow
      ? describeFileError(trimmed, error)
      : `neither key material nor a readable file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}); the value is not shown because it may be a key`;
    throw new ConfigError(`${setting}: ${reason}`, { cause: error });
  }
}
