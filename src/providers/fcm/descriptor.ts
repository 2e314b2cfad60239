import { maskToken } from '../../domain/recipient.js';
import type { ProviderDescriptor } from '../provider.js';
import { buildFcmPayload, withApnsExpiration, type FcmPayload } from './payload.js';

export const fcmDescriptor: ProviderDescriptor<'fcm', FcmPayload> = {
  name: 'fcm',
  title: 'FCM',
  isConfigured: (config) => Boolean(config.fcm?.serviceAccount),
  create: async (config, options) => (await import('./create-fcm.js')).createFcmProvider(config, options),
  buildPayload: buildFcmPayload,
  sample: (item) => {
    const message = withApnsExpiration(item.payload, Math.floor(Date.now() / 1000));
    return { ...message, token: maskToken(message.token) };
  },
  validatesWithoutDelivery: true,
  doctor: {
    summary: () => 'service account read; an OAuth access token was issued for it',
    // validate_only: FCM checks the message and the credentials like a real send, and delivers nothing.
    probeToken: 'pushcast-doctor-probe:APA91b-not-a-real-registration-token',
    setUp:
      'in the Firebase console, Project settings > Service accounts > Generate new private key; set fcm.serviceAccount (or GOOGLE_APPLICATION_CREDENTIALS) to that file, and fcm.projectId if the key is of another project',
  },
};
