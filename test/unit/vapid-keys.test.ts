import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';

/** A pair belongs together when the private key's P-256 public key is the public key. */
function publicKeyOf(privateKey: string): string {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
  return ecdh.getPublicKey('base64url');
}

describe('pushcast vapid-keys', () => {
  it('prints a new P-256 key pair as two environment lines, a fresh pair each time', async () => {
    const first = await runCli(['vapid-keys']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const lines = first.stdout.split('\n');
    expect(lines).toHaveLength(3);
    const [, publicKey] = /^PUSHCAST_VAPID_PUBLIC_KEY=([\w-]+)$/.exec(lines[0]!) ?? [];
    const [, privateKey] = /^PUSHCAST_VAPID_PRIVATE_KEY=([\w-]+)$/.exec(lines[1]!) ?? [];
    expect(Buffer.from(publicKey!, 'base64url')).toHaveLength(65);
    expect(Buffer.from(privateKey!, 'base64url')).toHaveLength(32);
    expect(publicKeyOf(privateKey!)).toBe(publicKey);
    expect((await runCli(['vapid-keys'])).stdout).not.toBe(first.stdout);
  });

  it('prints {"publicKey", "privateKey"} and nothing else with --json', async () => {
    const result = await runCli(['vapid-keys', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const keys = JSON.parse(result.stdout) as { publicKey: string; privateKey: string };
    expect(Object.keys(keys)).toEqual(['publicKey', 'privateKey']);
    expect(publicKeyOf(keys.privateKey)).toBe(keys.publicKey);
  });
});
