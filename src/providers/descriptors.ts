import type { ProviderName } from '../domain/recipient.js';
import { apnsDescriptor } from './apns/descriptor.js';
import { fcmDescriptor } from './fcm/descriptor.js';
import type { ProviderDescriptor } from './provider.js';
import { webPushDescriptor } from './webpush/descriptor.js';

/** Every provider pushcast can send through. Adding one means writing its descriptor and listing it here. */
export const providerDescriptors: { readonly [P in ProviderName]: ProviderDescriptor<P> } = {
  fcm: fcmDescriptor,
  apns: apnsDescriptor,
  webpush: webPushDescriptor,
};
