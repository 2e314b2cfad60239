import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emulatorSubscription } from '../../src/emulator/subscriber-keys.js';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** A made-up FCM registration token shaped like a real one (~160 characters). */
export function fcmToken(id: string | number): string {
  const tail = Buffer.concat([digest(`b${id}`), digest(`c${id}`), digest(`d${id}`), digest(`e${id}`)]).toString('base64url');
  return `${digest(`a${id}`).toString('base64url').slice(0, 22)}:APA91b${tail.slice(0, 134)}`;
}

/** A made-up APNs device token: 64 hex digits. */
export function apnsToken(id: string | number): string {
  return digest(`apns${id}`).toString('hex');
}

/** A made-up ActivityKit token (a Live Activity's update token, or a push-to-start token): 80 bytes of hex, as they come in the field. */
export function liveActivityToken(id: string | number): string {
  return Buffer.concat([digest(`activity${id}`), digest(`activity-b${id}`), digest(`activity-c${id}`).subarray(0, 16)]).toString('hex');
}

export { emulatorSubscription };

export function tempDir(prefix = 'pushcast-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a file into a new temporary folder and returns its path. */
export function tempFile(name: string, content: string | Buffer): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}
