// Writes a synthetic audience CSV of `size` rows, a third per provider, for benchmarks.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { emulatorSubscription } from '../../dist/emulator/subscriber-keys.js';

const locales = ['en', 'fa', 'ru', 'zh', 'es', ''];
const names = ['Alice', 'سارا', 'Дмитрий', '王芳', 'José, "Pepe"', ''];

function fcmToken(i) {
  const h = createHash('sha256').update(`fcm${i}`).digest('base64url');
  return `${h.slice(0, 22)}:APA91b${(h + h + h + h).slice(0, 134)}`;
}
const apnsToken = (i) => createHash('sha256').update(`apns${i}`).digest('hex');
const csvQuote = (value) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** Rows cycle through `providers`; every web push row is a subscription the emulator can decrypt. */
export async function generateAudience(path, size, { providers = ['fcm', 'apns', 'webpush'] } = {}) {
  if (existsSync(path) && statSync(path).size > 0) return path;
  const out = createWriteStream(path);
  out.write('provider,token,endpoint,p256dh,auth,user_id,locale,name,coupon\n');
  for (let i = 0; i < size; i++) {
    const provider = providers[i % providers.length];
    let row;
    if (provider === 'webpush') {
      const { endpoint, keys } = emulatorSubscription(`bench-${i}`);
      row = ['webpush', '', endpoint, keys.p256dh, keys.auth];
    } else {
      row = [provider, provider === 'fcm' ? fcmToken(i) : apnsToken(i), '', '', ''];
    }
    row.push(`u${i}`, locales[i % locales.length], names[i % names.length], `C${i}`);
    if (!out.write(`${row.map(csvQuote).join(',')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}
