import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceIdentity, keysOf, type DeviceRecipient, type ProviderName } from '../../src/domain/recipient.js';
import type { PushcastConfig } from '../../src/config/config.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/start-emulator.js';
import { CompiledTemplate } from '../../src/message/compile-template.js';
import type { MessageTemplate } from '../../src/message/load-template.js';
import { prepareRecipient } from '../../src/engine/prepare-recipient.js';
import type { Rendered } from '../../src/providers/provider.js';
import { emulatorSubscription, tempDir } from './tokens.js';

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
  const subscription = provider === 'webpush' ? emulatorSubscription(token) : undefined;
  const address = subscription ? subscription.endpoint : token;
  const recipient: DeviceRecipient = {
    kind: 'device',
    line: 2,
    provider,
    token: address,
    ...keysOf(deviceIdentity(provider, address)),
    subscription,
    vars: {},
    fields: [],
  };
  const result = prepareRecipient(new CompiledTemplate({ kind: 'notification', ...template } as MessageTemplate), recipient, { apnsTopic: 'com.example.pushcast' });
  if ('kind' in result) throw new Error(`test message does not render: ${result.detail}`);
  return result;
}
