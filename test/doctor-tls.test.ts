import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveResetsFirst } from '../src/emulator/resets-first.js';
import { join } from 'node:path';
import { startEmulator, type Emulator } from './helpers/emulator.js';
import { localAuthority, localCertificate } from './helpers/local-certificate.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir } from './helpers/tokens.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * `pushcast doctor` checks that this machine trusts the TLS chain the APNs host presents, through
 * the configured `ca`, apart from the credentials: since 2025 APNs's chain leads to the USERTrust RSA
 * root, which an old CA bundle (or a `ca` that holds only the old root) lacks. The APNs endpoint is
 * a local HTTP/2 server that presents, as APNs does, its certificate and the intermediate authority
 * that signed it, whose root ("the new root") is not sent; a `ca` holding only another authority
 * ("the old root") does not lead to it. The emulator makes the credentials.
 */

let emulator: Emulator;
let server: http2.Http2SecureServer;
let origin: string;
let newRoot: { key: string; cert: string };
let oldRoot: { key: string; cert: string };
/** The requests the APNs server received, and the connections it accepted. */
const requests: string[] = [];
let connections = 0;

beforeAll(async () => {
  emulator = await startEmulator({ seed: 'doctor-tls' });
  [newRoot, oldRoot] = await Promise.all([localAuthority('pushcast test new root'), localAuthority('pushcast test old root')]);
  const intermediate = await localAuthority('pushcast test intermediate', { signedBy: newRoot });
  const leaf = await localCertificate({ signedBy: intermediate });
  server = http2.createSecureServer({ key: leaf.key, cert: `${leaf.cert}\n${intermediate.cert}` });
  serveResetsFirst(server);
  server.on('connection', () => connections++);
  // What APNs answers for the token no device has that doctor probes with.
  server.on('stream', (stream, headers) => {
    requests.push(String(headers[':path']));
    stream.resume();
    stream.respond({ ':status': 400, 'apns-id': '00000000-0000-0000-0000-000000000000', 'content-type': 'application/json' });
    stream.end(JSON.stringify({ reason: 'BadDeviceToken' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await emulator.close();
});

/** A folder with a config of APNs alone: the emulator's credentials, APNs at `endpoint`, trusting `ca`. */
function apnsConfig(endpoint: string, ca: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'pushcast.config.json'), JSON.stringify({ apns: { ...emulator.config().apns, endpoint }, ca }));
  return dir;
}

describe('pushcast doctor: the TLS chain APNs presents', () => {
  it('says the chain is trusted when ca holds the authority that signed it', async () => {
    const { code, stdout } = await runCli(['doctor'], { cwd: apnsConfig(origin, newRoot.cert) });
    expect(stdout).toMatch(
      new RegExp(`apns\\n {2}ok +APNs TLS: 127\\.0\\.0\\.1:\\d+ presents a chain this machine trusts \\(issuer pushcast test new root, through the file ca names\\)\\n`),
    );
    // The credentials are still checked, after it.
    expect(stdout).toContain('APNs, to a token no device has, accepted the credentials');
    expect(code, stdout).toBe(0);
  });

  it('names the untrusted chain and its reason, apart from the credentials, and fails as a failed check does', async () => {
    requests.length = 0;
    const before = connections;
    const { code, stdout } = await runCli(['doctor'], { cwd: apnsConfig(origin, oldRoot.cert) });
    expect(stdout).toMatch(
      new RegExp(
        'apns\\n {2}BAD +APNs TLS: this machine does not trust the chain 127\\.0\\.0\\.1:\\d+ presents \\(UNABLE_TO_GET_ISSUER_CERT_LOCALLY; it leads to pushcast test new root\\); ' +
          'since 2025 APNs uses the USERTrust RSA root\\n +next: add the USERTrust RSA Certification Authority certificate to the file ca names',
      ),
    );
    // Not a credential error: no set-up advice for the key, and the credentials are said to be unchecked.
    expect(stdout).not.toContain('Certificates, Identifiers & Profiles');
    expect(stdout).toMatch(/n\/a +the credentials: not checked without a trusted TLS connection/);
    expect(code).toBe(2);
    // A connection and its handshake, no request.
    await waitFor(() => connections === before + 1, 'the connection doctor made');
    expect(requests).toEqual([]);
  });

  it('says a host that cannot be reached is unreachable, not untrusted', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { code, stdout } = await runCli(['doctor'], { cwd: apnsConfig(`https://127.0.0.1:${port}`, newRoot.cert) });
    expect(stdout).toMatch(
      new RegExp(
        `apns\\n {2}n/a +APNs TLS: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): whether this machine trusts its chain is not known\\n +next: check this machine's network`,
      ),
    );
    expect(stdout).not.toContain('does not trust');
    // Nothing was proved wrong: unchecked, as a probe with no conclusive answer is.
    expect(code, stdout).toBe(0);
  });
});
