import { maskToken } from '../../domain/recipient.js';
import type { ProviderDescriptor } from '../provider.js';
import { apnsHost } from './apns-host.js';
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
    /**
     * Apple moved APNs's server certificates to the "SHA-2 Root : USERTrust RSA Certification
     * Authority" root, in sandbox on 2025-01-20 and in production on 2025-02-24, and asks every
     * provider server to have it in its trust store, whether it signs tokens or presents a
     * certificate (developer.apple.com/news/?id=09za8wzy, /support/upcoming-requirements/
     * requirement-20250120a and -20250224a; Apple DTS, developer forums thread 773306). A machine
     * whose CA bundle predates it, or a ca that holds only the roots APNs used before (GeoTrust
     * Global CA until 2021, then AAA Certificate Services), fails the handshake.
     */
    tls: {
      host: apnsHost,
      untrusted: (ownCa) => ({
        why: 'since 2025 APNs uses the USERTrust RSA root',
        next: ownCa
          ? "add the USERTrust RSA Certification Authority certificate to the file ca names (ca replaces this machine's CA certificates, so it must hold every root pushcast is to trust)"
          : "update this machine's CA certificates (the ca-certificates package), or, behind a proxy that inspects TLS, set ca to the PEM of the proxy's authority",
      }),
    },
  },
};
