// @parse/push-adapter, called the way Parse Server calls it: one send() with every installation.
import https from 'node:https';
import { createRequire } from 'node:module';
import ParsePushAdapter from '@parse/push-adapter';
import { installFcmConnectHook } from '../../dist/providers/fcm/fcm-connect-hook.js';
import { serviceAccountCredential } from '../../dist/providers/fcm/service-account-credential.js';
import { readArgs, startClock, subscriptionOf } from '../lib/contender-kit.js';

const { provider, rows, config } = readArgs();
const pushConfig = {};
if (provider === 'fcm') {
  // The adapter uses an existing default Firebase app: give it one whose tokens come from the
  // emulator, and point firebase-admin's HTTP/2 sessions there (as pushcast does).
  // It pins its own firebase-admin (13.9.0): the app must be made on that copy.
  const adapterRequire = createRequire(createRequire(import.meta.url).resolve('@parse/push-adapter'));
  const { initializeApp } = adapterRequire('firebase-admin/app');
  const account = JSON.parse(config.fcm.serviceAccount);
  installFcmConnectHook({ redirect: { endpoint: config.fcm.endpoint, ca: config.ca } });
  initializeApp({ credential: serviceAccountCredential(account, { ca: config.ca }), projectId: account.project_id });
  pushConfig.android = { firebaseServiceAccount: account };
} else if (provider === 'apns') {
  const url = new URL(config.apns.endpoint);
  pushConfig.ios = {
    token: { key: config.apns.key, keyId: config.apns.keyId, teamId: config.apns.teamId },
    topic: config.apns.topic,
    production: false,
    address: url.hostname,
    port: Number(url.port),
    ca: [config.ca],
  };
} else {
  const url = new URL(config.webpush.endpoint);
  const { vapidPublicKey: publicKey, vapidPrivateKey: privateKey, subject } = config.webpush;
  pushConfig.web = { vapidDetails: { subject, publicKey, privateKey }, agent: new https.Agent({ keepAlive: true, host: url.hostname, port: Number(url.port), ca: config.ca }) };
}
const Adapter = ParsePushAdapter.default ?? ParsePushAdapter.ParsePushAdapter ?? ParsePushAdapter;
const adapter = new Adapter(pushConfig);
const deviceType = { fcm: 'android', apns: 'ios', webpush: 'web' }[provider];
const installations = rows.map((row) => ({ deviceType, deviceToken: provider === 'webpush' ? JSON.stringify(subscriptionOf(row)) : row.token, appIdentifier: config.apns?.topic }));
const clock = startClock();
const results = await clock.time(adapter.send({ data: { title: 'Autumn sale', alert: 'Use your code for 20% off until Sunday.', campaign: 'autumn-sale' } }, installations));
const flat = results.flat(Infinity);
const ok = flat.filter((result) => result?.transmitted).length;
// The adapter answers once for the whole audience: every message waited as long as the slowest.
clock.latencies.length = 0;
clock.done({ sent: rows.length, ok, failed: rows.length - ok, latencyIsWholeCall: true });
process.exit(0);
