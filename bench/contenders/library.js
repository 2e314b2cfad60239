// The provider library alone, as pushcast drives it: the target pushcast's own cost is measured
// against. firebase-admin `sendEach` in pushcast's batches (100), node-apn and web-push's
// `sendNotification`, each with pushcast's concurrency (config/defaults.ts), each message built
// inside the timed section. No journal, no report, no retries of its own (firebase-admin's own
// retries stay on, as stock: the emulator counts every request, so they show as "resent"), except
// APNs requests refused unanswered, sent again up to 5 times.
import https from 'node:https';
import apn from '@parse/node-apn';
import webpush from 'web-push';
import { defaultFcmBatch, defaultInFlight } from '../../dist/config/defaults.js';
import { installFcmConnectHook } from '../../dist/providers/fcm/fcm-connect-hook.js';
import { serviceAccountCredential } from '../../dist/providers/fcm/service-account-credential.js';
import { apnsProvider, messageFor, readArgs, startClock, subscriptionOf, webPushOptions } from '../lib/contender-kit.js';

const { provider, rows, config } = readArgs();
const concurrency = defaultInFlight[provider];

let sendBatch; // rows → count accepted
let close = async () => {};
if (provider === 'fcm') {
  const { initializeApp, deleteApp } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  installFcmConnectHook({ redirect: { endpoint: new URL(config.fcm.endpoint).origin, ca: config.ca } });
  const account = JSON.parse(config.fcm.serviceAccount);
  const app = initializeApp({ credential: serviceAccountCredential(account, { ca: config.ca }), projectId: account.project_id });
  const messaging = getMessaging(app);
  await app.options.credential.getAccessToken();
  sendBatch = async (batch) => (await messaging.sendEach(batch.map((row) => messageFor('fcm', row)))).successCount;
  close = () => deleteApp(app);
} else if (provider === 'apns') {
  const apnProvider = apnsProvider(config);
  sendBatch = async ([row]) => {
    const note = new apn.Notification(messageFor('apns', row));
    note.topic = config.apns.topic;
    note.pushType = 'alert';
    // APNs refuses the streams sent over the one-stream limit it sets after a rejection: node-apn
    // fails them without an answer. Sent again, as pushcast does, so both make the same sends.
    for (let attempt = 1; ; attempt++) {
      const result = await apnProvider.send(note, row.token);
      if (result.sent.length || result.failed[0]?.response || attempt === 5) return result.sent.length;
    }
  };
  close = () => apnProvider.shutdown();
} else {
  const { vapidPublicKey: publicKey, vapidPrivateKey: privateKey, subject } = config.webpush;
  const endpoint = new URL(config.webpush.endpoint);
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, host: endpoint.hostname, port: Number(endpoint.port), ca: config.ca });
  sendBatch = ([row]) =>
    webpush.sendNotification(subscriptionOf(row), messageFor('webpush', row), { vapidDetails: { subject, publicKey, privateKey }, agent, ...webPushOptions }).then(
      () => 1,
      () => 0,
    );
  close = async () => agent.destroy();
}

// FCM: sendEach calls of 100, five at a time (500 in flight); APNs and web push: one message per call.
const batchSize = provider === 'fcm' ? defaultFcmBatch : 1;
const loops = Math.ceil(concurrency / batchSize);
const clock = startClock();
let next = 0;
let ok = 0;
await Promise.all(
  Array.from({ length: loops }, async () => {
    while (next < rows.length) {
      const batch = rows.slice(next, next + batchSize);
      next += batch.length;
      // Every message of a batch waits for the whole call: its latency is the call's.
      const started = performance.now();
      const accepted = await sendBatch(batch).catch(() => 0);
      const ms = performance.now() - started;
      for (let i = 0; i < batch.length; i++) clock.latencies.push(ms);
      ok += accepted;
    }
  }),
);
clock.done({ sent: rows.length, ok, failed: rows.length - ok });
await close();
process.exit(0);
