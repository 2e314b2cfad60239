// What people write by hand around each client library: `sequential` (a for loop with await)
// or `all` (Promise.all over every recipient at once). No retries, no limits.
import https from 'node:https';
import apn from '@parse/node-apn';
import webpush from 'web-push';
import { installFcmConnectHook } from '../../dist/providers/fcm/fcm-connect-hook.js';
import { serviceAccountCredential } from '../../dist/providers/fcm/service-account-credential.js';
import { apnsProvider, messageFor, readArgs, startClock, subscriptionOf, webPushOptions } from '../lib/contender-kit.js';

const mode = process.argv[6];
const { provider, rows, config } = readArgs();
const endpoint = new URL(config.fcm.endpoint);
const redirect = new https.Agent({ keepAlive: true, host: endpoint.hostname, port: Number(endpoint.port), ca: config.ca });

let sendOne;
let close = async () => {};
if (provider === 'fcm') {
  const { initializeApp, deleteApp } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  installFcmConnectHook({ redirect: { endpoint: config.fcm.endpoint, ca: config.ca } });
  const account = JSON.parse(config.fcm.serviceAccount);
  // send() takes firebase-admin's HTTP/1.1 path: the documented httpAgent points it at the emulator.
  const app = initializeApp({ credential: serviceAccountCredential(account, { ca: config.ca }), projectId: account.project_id, httpAgent: redirect });
  const messaging = getMessaging(app);
  sendOne = (row) => messaging.send(messageFor('fcm', row));
  close = () => deleteApp(app);
} else if (provider === 'apns') {
  const apnProvider = apnsProvider(config);
  sendOne = async (row) => {
    const note = new apn.Notification(messageFor('apns', row));
    note.topic = config.apns.topic;
    note.pushType = 'alert';
    const result = await apnProvider.send(note, row.token);
    if (result.failed.length) throw new Error(result.failed[0].response?.reason ?? String(result.failed[0].error));
  };
  close = () => apnProvider.shutdown();
} else {
  const { vapidPublicKey: publicKey, vapidPrivateKey: privateKey, subject } = config.webpush;
  sendOne = (row) =>
    webpush.sendNotification(subscriptionOf(row), messageFor('webpush', row), { vapidDetails: { subject, publicKey, privateKey }, agent: redirect, ...webPushOptions });
  close = async () => redirect.destroy();
}

const clock = startClock();
let ok = 0;
let failed = 0;
if (mode === 'sequential') {
  for (const row of rows) {
    try {
      await clock.time(sendOne(row));
      ok++;
    } catch {
      failed++;
    }
  }
} else {
  const results = await Promise.allSettled(rows.map((row) => clock.time(sendOne(row))));
  for (const result of results) {
    if (result.status === 'fulfilled') ok++;
    else failed++;
  }
}
clock.done({ sent: rows.length, ok, failed });
await close();
process.exit(0);
