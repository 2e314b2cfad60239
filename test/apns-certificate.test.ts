import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { audienceFile } from './helpers/audience.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/**
 * APNs certificate auth with the .p12 Keychain exports. The emulator asks every client for a
 * certificate and accepts an APNs request with no authorization header only when the TLS session
 * presented its own "Apple Push Services" certificate: a delivery proves node-apn sent it.
 */
const message = tempFile('m.json', JSON.stringify({ title: 'Hi', body: 'Cert' }));

let emulator: Emulator;
let other: Emulator;
beforeAll(async () => {
  [emulator, other] = await Promise.all([startEmulator({ seed: 'cert' }), startEmulator({ seed: 'cert-other' })]);
});
afterAll(async () => {
  await Promise.all([emulator.close(), other.close()]);
});

/** A config for the emulator with certificate auth from `certificate` (a .p12 written to the folder) instead of the .p8 key. */
function certificateConfig(dir: string, certificate = emulator.credentials.apnsCertificate, passphrase = certificate.passphrase): string {
  writeFileSync(join(dir, 'push.p12'), Buffer.from(certificate.pfx, 'base64'));
  return writeEmulatorConfig(emulator, { apns: { key: undefined, keyId: undefined, teamId: undefined, pfx: 'push.p12', passphrase } }, dir);
}

describe('APNs certificate auth with a .p12 and its passphrase', () => {
  it('sends with the certificate: the emulator took each request on the certificate it was shown', async () => {
    emulator.reset();
    const dir = tempDir();
    const { code, stdout, stderr } = await runCli(['send', '--config', certificateConfig(dir), '-a', audienceFile('apns', 5, 'p12'), '-m', message, '--json'], { cwd: dir });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout).counts).toMatchObject({ targeted: 5, accepted: 5 });
    expect(emulator.delivered()).toHaveLength(5);
  });

  it('takes the file inline as base64: from an environment variable, as CI secrets hold it', async () => {
    emulator.reset();
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { apns: { key: undefined, keyId: undefined, teamId: undefined } }, dir);
    const env = { PUSHCAST_APNS_PFX: `base64:${emulator.credentials.apnsCertificate.pfx}`, PUSHCAST_APNS_PASSPHRASE: emulator.credentials.apnsCertificate.passphrase };
    const { code, stderr } = await runCli(['send', '--config', config, '-a', audienceFile('apns', 3, 'p12-env'), '-m', message, '--quiet'], { cwd: dir, env });
    expect(code, stderr).toBe(0);
    expect(emulator.delivered()).toHaveLength(3);
  });

  it('stops before sending anything when the passphrase is wrong, and never prints it', async () => {
    emulator.reset();
    const dir = tempDir();
    const wrong = 'not-the-passphrase-7f3a';
    const { code, stdout, stderr } = await runCli(['send', '--config', certificateConfig(dir, undefined, wrong), '-a', audienceFile('apns', 5, 'p12-bad'), '-m', message], {
      cwd: dir,
    });
    expect(code).toBe(2);
    expect(stderr).toContain('apns.pfx: the passphrase does not open it');
    expect(stdout + stderr).not.toContain(wrong);
    expect(emulator.stats().requests.apns).toBe(0);
  });

  it("stops as a refused credential when APNs does not know the certificate (another app's)", async () => {
    emulator.reset();
    const dir = tempDir();
    const { code, stdout, stderr } = await runCli(
      ['send', '--config', certificateConfig(dir, other.credentials.apnsCertificate), '-a', audienceFile('apns', 30, 'p12-other'), '-m', message, '--json'],
      { cwd: dir },
    );
    expect(code).toBe(2);
    expect(stderr).toContain('stopped by apns (credentials-refused-for-all)');
    expect(stderr).toContain('(answered: BadCertificate)');
    expect(JSON.parse(stdout).counts).toMatchObject({ accepted: 0, invalid: 0 });
    expect(emulator.stats().rejected.apns).toMatchObject({ BadCertificate: expect.any(Number) });
    expect(emulator.delivered()).toEqual([]);
  });
});
