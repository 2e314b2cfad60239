import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import type { ProviderName } from '../../src/domain/recipient.js';
import type { PushcastConfig } from '../../src/config/config.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/start-emulator.js';
import { CompiledTemplate } from '../../src/message/compile-template.js';
import type { MessageTemplate } from '../../src/message/load-template.js';
import { providerDescriptors } from '../../src/providers/descriptors.js';
import type { ProviderDescriptor, Rendered } from '../../src/providers/provider.js';
import { device } from './audience.js';
import { bin } from './spawn-cli.js';
import { tempDir } from './tokens.js';

export { startEmulator, type Emulator, type EmulatorOptions };

/** Writes a pushcast config pointing at the emulator, with changes merged per section. */
export function writeEmulatorConfig(emulator: Emulator, changes: Partial<Record<keyof PushcastConfig, unknown>> = {}, dir = tempDir()): string {
  const config = emulator.config() as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    config[key] = value && typeof value === 'object' && !Array.isArray(value) ? { ...(config[key] as object), ...value } : value;
  }
  const path = join(dir, 'pushcast.config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A recipient rendered for its provider, as the engine would hand it to the provider. */
export function rendered(provider: ProviderName, token: string, template: Partial<MessageTemplate> = { title: 'Hello', body: 'World' }): Rendered {
  const recipient = provider === 'webpush' ? device('webpush', token) : device(provider, token, { token });
  const message = new CompiledTemplate({ kind: 'notification', ...template } as MessageTemplate).render({});
  if (!message.ok) throw new Error(`test message does not render: ${message.detail}`);
  const built = (providerDescriptors[provider] as ProviderDescriptor).buildPayload(message.message, recipient, { apnsTopic: 'com.example.pushcast' });
  if (!built.ok) throw new Error(`test message does not build: ${built.detail}`);
  return { provider, recipient, payload: built.payload } as Rendered;
}

/** The counters of an emulator running in a process of its own, read from its stats endpoint over TLS with its CA. */
export async function emulatorProcessStats(configFile: string): Promise<ReturnType<Emulator['stats']>> {
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { ca: string; fcm: { endpoint: string } };
  const ca = config.ca.startsWith('-----BEGIN') ? config.ca : readFileSync(resolve(dirname(configFile), config.ca));
  const url = new URL('/_emulator/stats', config.fcm.endpoint);
  return new Promise((done, fail) => {
    get(url, { ca }, (response) => {
      let body = '';
      response
        .setEncoding('utf8')
        .on('data', (chunk: string) => (body += chunk))
        .on('end', () => done(JSON.parse(body)));
    }).on('error', fail);
  });
}

/**
 * `pushcast emulator ARGS` in a process of its own, started in `cwd`, once it says it listens (it
 * has written pushcast.emulator.json there): an emulator that outlives the senders a test kills.
 * `command`: another pushcast to run it with (an installed one); by default the one under test.
 */
export async function startEmulatorProcess(cwd: string, args: string[] = [], command?: string): Promise<{ child: ChildProcess; output(): string }> {
  const child = command ? spawn(command, ['emulator', ...args], { cwd }) : spawn(process.execPath, [bin, 'emulator', ...args], { cwd });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((listening, failed) => {
    child.stdout!.on('data', () => output.includes('stop with Ctrl-C') && listening());
    child.on('exit', (code) => failed(new Error(`the emulator exited with ${code} before it listened: ${output}`)));
  });
  return { child, output: () => output };
}
