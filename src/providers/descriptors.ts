import type { PushcastConfig } from '../config/config.js';
import type { ProviderName } from '../domain/recipient.js';
import { apnsDescriptor } from './apns/descriptor.js';
import { fcmDescriptor } from './fcm/descriptor.js';
import type { Provider, ProviderDescriptor } from './provider.js';
import { webPushDescriptor } from './webpush/descriptor.js';

/** Every provider pushcast can send through. Adding one means writing its descriptor and listing it here. */
export const providerDescriptors: { readonly [P in ProviderName]: ProviderDescriptor<P> } = {
  fcm: fcmDescriptor,
  apns: apnsDescriptor,
  webpush: webPushDescriptor,
};

/**
 * A provider's client, its credentials verified before its first send: closed again if they are
 * refused, or if `signal` ends the check (the run is closing).
 */
export async function createVerified<P extends ProviderName>(
  descriptor: ProviderDescriptor<P>,
  config: PushcastConfig,
  validateOnly: boolean,
  signal: AbortSignal = new AbortController().signal,
): Promise<Provider<P>> {
  const created = await descriptor.create(config, { validateOnly, signal });
  try {
    await created.verify?.(signal);
  } catch (error) {
    await created.close().catch(() => undefined);
    throw error;
  }
  return created;
}
