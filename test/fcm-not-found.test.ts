import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceFile } from './helpers/audience.js';
import { startEmulator, writeEmulatorConfig, type Emulator } from './helpers/emulator.js';
import { localCertificate } from './helpers/local-certificate.js';
import { runCli } from './helpers/run-cli.js';
import { tempDir, tempFile } from './helpers/tokens.js';

/**
 * A 404 is an unregistered token only when FCM says so in its body (UNREGISTERED). Any other 404
 * comes from a path that is not FCM's send endpoint (a wrong project id, a proxy's page): the
 * tokens may be alive, so none is pruned, and FCM stops with what to check. Here the sends go to a
 * local HTTP/2 server that answers 404 as Google's front end does for a path it does not know, or
 * as a proxy's HTML page; the emulator issues the OAuth tokens.
 */

const message = tempFile('not-found.json', JSON.stringify({ title: 'Hi', body: 'News' }));
let emulator: Emulator;
let server: http2.Http2SecureServer;
let origin: string;
let ca: string;
const received: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ seed: 'not-found' });
  const made = await localCertificate();
  server = http2.createSecureServer(made);
  server.on('stream', (stream, headers) => {
    const body: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => body.push(chunk));
    stream.on('end', () => {
      const token = String((JSON.parse(Buffer.concat(body).toString('utf8')) as { message: { token: string } }).message.token);
      received.push(`${String(headers[':path'])} ${token}`);
      if (token.includes('html')) {
        stream.respond({ ':status': 404, 'content-type': 'text/html' });
        stream.end('<html><body><h1>404 Not Found</h1></body></html>');
      } else {
        stream.respond({ ':status': 404, 'content-type': 'application/json; charset=UTF-8' });
        stream.end(JSON.stringify({ error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ca = `${emulator.ca}\n${made.cert}`;
});
afterAll(async () => {
  server.close();
  await emulator.close();
});

describe('a 404 that is not FCM saying a token is unregistered', () => {
  it.each([
    ["Google's own NOT_FOUND, with no UNREGISTERED in it", 'json'],
    ["a proxy's HTML page", 'html'],
  ])('(%s) stops FCM with what to check, and prunes nobody', async (_what, kind) => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { fcm: { ...emulator.config().fcm, endpoint: origin }, ca }, dir);
    received.length = 0;
    const { code, stdout, stderr } = await runCli(
      ['send', '--config', config, '-a', audienceFile('fcm', 6, `nf-${kind}`), '-m', message, '--no-journal', '--invalid-out', 'prune.csv', '--json'],
      { cwd: dir },
    );
    expect(code, stderr).toBe(2);
    const record = JSON.parse(stdout);
    expect(record.fatal).toMatchObject({ provider: 'fcm', reason: 'not-found-not-fcm' });
    expect(record.counts.invalid).toBe(0);
    expect(stderr).toContain('check fcm.projectId');
    expect(readFileSync(join(dir, 'prune.csv'), 'utf8').trim().split('\n')).toHaveLength(1); // the header alone
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((request) => request.startsWith('/v1/projects/pushcast-emulator/messages:send '))).toBe(true);
  });

  it('a project id that is no Google project id stops the campaign before anything is sent', async () => {
    const dir = tempDir();
    const config = writeEmulatorConfig(emulator, { fcm: { ...emulator.config().fcm, projectId: 'pushcast-emulator\n/../../x' } }, dir);
    const before = emulator.stats().requests.fcm;
    const { code, stderr } = await runCli(['send', '--config', config, '-a', audienceFile('fcm', 3, 'nf-project'), '-m', message, '--no-journal'], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toContain('fcm.projectId must be a Google Cloud project id (6 to 30 lower-case letters, digits and hyphens, from a letter)');
    expect(emulator.stats().requests.fcm).toBe(before);
  });
});
