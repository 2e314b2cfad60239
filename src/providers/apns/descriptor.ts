import { maskToken } from '../../domain/recipient.js';
import type { ProviderDescriptor } from '../provider.js';
import { buildApnsPayload, type ApnsPayload } from './payload.js';

export const apnsDescriptor: ProviderDescriptor<'apns', ApnsPayload> = {
  name: 'apns',
  title: 'APNs',
  isConfigured: (config) => Boolean(config.apns?.key || config.apns?.cert || config.apns?.pfx),
  create: async (config) => (await import('./create-apns.js')).createApnsProvider(config),
  buildPayload: buildApnsPayload,
  sample: (item) => ({ token: maskToken(item.recipient.token), ...item.payload }),
  validatesWithoutDelivery: false,
  doctor: {
    summary: (config) =>
      config.apns?.cert || config.apns?.pfx
        ? `certificate ${config.apns?.pfx ? '(.p12) opened' : 'read'}; topic ${config.apns?.topic ?? 'NOT SET: set apns.topic'}`
        : `signing key read and a token signed (key ${config.apns?.keyId}, team ${config.apns?.teamId}); topic ${config.apns?.topic ?? 'NOT SET: set apns.topic'}`,
    // APNs checks the credentials before the token: a token no device has is refused, and nothing is delivered.
    probeToken: '0'.repeat(64),
    setUp:
      'in your Apple developer account, Certificates, Identifiers & Profiles > Keys, create a key with Apple Push Notifications service; set apns.key to the .p8 file, apns.keyId to its id, apns.teamId to your team id and apns.topic to the app bundle id',
  },
};
