import { createECDH } from 'node:crypto';
import { quoted } from '../../domain/quote-value.js';
import { ConfigError } from '../../errors.js';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
}

/** A new VAPID key pair, base64url: the public key is the browser's applicationServerKey; the private key signs. */
export async function newVapidKeys(): Promise<Omit<VapidKeys, 'subject'>> {
  const webpush = ((await import('web-push')) as unknown as { default: typeof import('web-push') }).default;
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  return { publicKey, privateKey };
}

/** Checks the VAPID keys and subject before anything is sent; messages never echo a key. */
export function checkVapid(settings: { vapidPublicKey?: string; vapidPrivateKey?: string; subject?: string }): VapidKeys {
  const { vapidPublicKey: publicKey, vapidPrivateKey: privateKey, subject } = settings;
  if (!publicKey || !privateKey) {
    throw new ConfigError('Web Push: set webpush.vapidPublicKey and webpush.vapidPrivateKey (run `pushcast vapid-keys` to make a pair)');
  }
  if (Buffer.from(publicKey, 'base64url').length !== 65) throw new ConfigError('webpush.vapidPublicKey: not a base64url P-256 public key (65 bytes)');
  const privateBytes = Buffer.from(privateKey, 'base64url');
  if (privateBytes.length !== 32) throw new ConfigError('webpush.vapidPrivateKey: not a base64url P-256 private key (32 bytes)');
  let derived: string;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(privateBytes);
    derived = ecdh.getPublicKey('base64url');
  } catch {
    throw new ConfigError('webpush.vapidPrivateKey: not a valid P-256 private key');
  }
  if (derived !== publicKey.replace(/=+$/, '')) {
    throw new ConfigError('webpush.vapidPrivateKey does not belong to webpush.vapidPublicKey: every push service would reject the signature');
  }
  if (!subject) throw new ConfigError('Web Push: set webpush.subject, a mailto: or https: contact for push services (e.g. mailto:push@example.com)');
  let url: URL;
  try {
    url = new URL(subject);
  } catch {
    throw new ConfigError(`webpush.subject: ${quoted(subject)} is not a mailto: or https: URL`);
  }
  if (url.protocol !== 'mailto:' && url.protocol !== 'https:') throw new ConfigError(`webpush.subject must be mailto: or https:, not ${url.protocol}`);
  // Apple's push service answers BadJwtToken to a subject it cannot reach (web-push-libs/web-push#947,
  // and reports of .local and .invalid domains, and of "mailto: <address>").
  const address = url.protocol === 'mailto:' ? decodeURIComponent(url.pathname) : undefined;
  if (address !== undefined && !/^[^\s<>@]+@[^\s<>@]+$/.test(address))
    throw new ConfigError(`webpush.subject must be a plain mailto:name@domain, not ${quoted(subject)}: Apple rejects anything else`);
  const domain = (address?.split('@')[1] ?? url.hostname).toLowerCase();
  if (!domain.includes('.') || /(^|\.)(localhost|local|invalid|test|example)$/.test(domain)) {
    throw new ConfigError(
      `webpush.subject must name a real, reachable domain, not ${domain}: Apple rejects a subject it cannot reach (use your site's https: URL or a real mailto: address)`,
    );
  }
  return { publicKey, privateKey, subject };
}
