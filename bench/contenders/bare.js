// The ceiling: no library, but the same work per message as pushcast inside the timed section:
// each message built and serialised (for Web Push, encrypted) when it is sent, with pushcast's own
// concurrency per provider (config/defaults.ts), over one HTTP/2 session in a closed loop (Web Push
// too, as pushcast sends to a push service that offers HTTP/2).
import http2 from 'node:http2';
import https from 'node:https';
import { createSign, createPrivateKey, sign as signData } from 'node:crypto';
import webpush from 'web-push';
import { defaultInFlight } from '../../dist/config/defaults.js';
import { messageFor, readArgs, startClock, subscriptionOf, webPushOptions } from '../lib/contender-kit.js';

const { provider, rows, config } = readArgs();
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function oauthToken() {
  const account = JSON.parse(config.fcm.serviceAccount);
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: account.client_email, scope: 'https://www.googleapis.com/auth/firebase.messaging', aud: account.token_uri, iat: now, exp: now + 3600 })}`;
  const assertion = `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(account.private_key, 'base64url')}`;
  const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(account.token_uri, { method: 'POST', ca: config.ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text).access_token));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function closedLoop(count, concurrency, sendAt) {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const clock = startClock();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        try {
          if (await clock.time(sendAt(index))) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  return { clock, ok, failed };
}

let result;
if (provider === 'webpush') {
  const { vapidPublicKey: publicKey, vapidPrivateKey: privateKey, subject } = config.webpush;
  const authorization = webpush.getVapidHeaders('https://fcm.googleapis.com', subject, publicKey, privateKey, 'aes128gcm').Authorization;
  const session = http2.connect(new URL(config.webpush.endpoint).origin, { ca: config.ca });
  result = await closedLoop(rows.length, defaultInFlight.webpush, (index) => {
    const row = rows[index];
    const details = webpush.generateRequestDetails(subscriptionOf(row), messageFor('webpush', row), {
      vapidDetails: null,
      headers: { Authorization: authorization },
      ...webPushOptions,
    });
    const target = new URL(details.endpoint);
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': target.pathname, ':authority': target.host, ...details.headers });
      stream.on('response', (h) => {
        stream.resume();
        stream.on('end', () => resolve(h[':status'] === 201));
      });
      stream.on('error', reject);
      stream.end(details.body);
    });
  });
  session.close();
} else {
  const url = new URL(provider === 'fcm' ? config.fcm.endpoint : config.apns.endpoint);
  const session = http2.connect(url.origin, { ca: config.ca });
  let authorization;
  let path;
  if (provider === 'fcm') {
    authorization = `Bearer ${await oauthToken()}`;
    path = () => `/v1/projects/${JSON.parse(config.fcm.serviceAccount).project_id}/messages:send`;
  } else {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'ES256', kid: config.apns.keyId })}.${b64({ iss: config.apns.teamId, iat: now })}`;
    authorization = `bearer ${unsigned}.${signData('sha256', Buffer.from(unsigned), { key: createPrivateKey(config.apns.key), dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }
  const bodyOf = (row) => {
    if (provider === 'fcm') return JSON.stringify({ message: messageFor('fcm', row) });
    const { alert, badge, sound, threadId, payload } = messageFor('apns', row);
    return JSON.stringify({ ...payload, aps: { alert, badge, sound, 'thread-id': threadId } });
  };
  result = await closedLoop(rows.length, defaultInFlight[provider], (index) => {
    const headers =
      provider === 'fcm'
        ? { ':method': 'POST', ':path': path(), authorization, 'content-type': 'application/json' }
        : {
            ':method': 'POST',
            ':path': `/3/device/${rows[index].token}`,
            authorization,
            'apns-topic': config.apns.topic,
            'apns-push-type': 'alert',
            'apns-priority': '10',
            'apns-collapse-id': 'autumn-sale',
            'apns-expiration': String(messageFor('apns', rows[index]).expiry),
          };
    // A stream refused unread (APNs over its lowered limit after a rejection) is sent again, up to 5 times, as pushcast does.
    const send = (tries) =>
      new Promise((resolve, reject) => {
        const stream = session.request(headers);
        stream.on('response', (h) => {
          stream.resume();
          stream.on('end', () => resolve(h[':status'] === 200));
        });
        stream.on('error', (error) => (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && tries < 5 ? resolve(send(tries + 1)) : reject(error)));
        stream.end(bodyOf(rows[index]));
      });
    return send(0);
  });
  session.close();
}
result.clock.done({ sent: rows.length, ok: result.ok, failed: result.failed });
process.exit(0);
