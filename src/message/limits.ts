import { createHash } from 'node:crypto';

/** Provider limits checked before any network call; each names its source. */
export const limits = {
  /** FCM: "the maximum payload for both message types is 4096 bytes" (notification + data). */
  fcmPayloadBytes: 4096,
  /** APNs: 4 KB for regular remote notifications (the JSON payload). */
  apnsPayloadBytes: 4096,
  /** Web Push: 4096-byte body minus the aes128gcm header (86), tag (16) and padding delimiter (1). */
  webPushPlaintextBytes: 3993,
  /** RFC 8030 §5.4: Topic is at most 32 characters of the URL- and filename-safe base64 alphabet. */
  webPushTopicChars: 32,
  /** APNs: apns-collapse-id must not exceed 64 bytes. */
  apnsCollapseIdBytes: 64,
  /** FCM: data keys it keeps for itself, refused in every message that uses them. */
  fcmReservedDataKeys: /^(from|message_type|collapse_key|notification|google(\..*)?|gcm(\..*)?)$/i,
} as const;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

const topicPattern = /^[A-Za-z0-9_-]{1,32}$/;
/** Printable ASCII, no space at either end: what survives as an HTTP header value (Node's HTTP/2 client drops values beyond Latin-1). */
const collapseIdPattern = new RegExp(`^[\\x21-\\x7e](?:[\\x20-\\x7e]{0,${limits.apnsCollapseIdBytes - 2}}[\\x21-\\x7e])?$`);

/** A group's stable id where a provider takes fewer characters: the first 32 of its SHA-256 in base64url. */
function groupId(group: string): string {
  return createHash('sha256').update(group).digest('base64url').slice(0, limits.webPushTopicChars);
}

/** The Web Push `Topic` for a grouping key: the key itself when it is already valid, otherwise its stable id. */
export function webPushTopic(group: string): string {
  return topicPattern.test(group) ? group : groupId(group);
}

/** The `apns-collapse-id` for a grouping key: the key itself when it is printable ASCII of at most 64 bytes, otherwise its stable id. */
export function apnsCollapseId(group: string): string {
  return collapseIdPattern.test(group) ? group : groupId(group);
}

export function tooLarge(what: string, bytes: number, limit: number): string {
  return `${what} is ${bytes} bytes; the limit is ${limit} bytes (${bytes - limit} over)`;
}
