// What every hand-written contender shares: its audience, its messages, and the result line.
import { readFileSync } from 'node:fs';
import apn from '@parse/node-apn';
import { parse } from 'csv-parse/sync';

export function readArgs() {
  const [provider, audienceFile, configFile, limit] = process.argv.slice(2);
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  // Hand-written senders load the whole audience: that is part of what they cost.
  let rows = parse(readFileSync(audienceFile), { columns: true }).filter((row) => row.provider === provider);
  if (limit) rows = rows.slice(0, Number(limit));
  return { provider, rows, config };
}

export function subscriptionOf(row) {
  return { endpoint: row.endpoint, keys: { p256dh: row.p256dh, auth: row.auth } };
}

/** Two days, fixtures/message.json's ttl. */
const ttlSeconds = 172800;

/**
 * The same message pushcast sends for fixtures/message.json, as each library takes it: every
 * field pushcast's payload builders set (collapse ids, TTLs, priorities, the apns and webpush
 * blocks of an FCM message), so each contender hands its library the same work.
 */
export function messageFor(provider, row) {
  const title = `Autumn sale, ${row.name || 'friend'}!`;
  const body = `Use code ${row.coupon} for 20% off until Sunday.`;
  const link = `https://shop.example.com/sale?code=${row.coupon}`;
  if (provider === 'fcm')
    return {
      token: row.token,
      notification: { title, body },
      data: { campaign: 'autumn-sale', coupon: row.coupon, link },
      android: { collapseKey: 'autumn-sale', priority: 'high', ttl: ttlSeconds * 1000, notification: { tag: 'autumn-sale', sound: 'default' } },
      apns: {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-collapse-id': 'autumn-sale', 'apns-expiration': String(Math.floor(Date.now() / 1000) + ttlSeconds) },
        payload: { aps: { threadId: 'promotions', badge: 1, sound: 'default' } },
      },
      webpush: { headers: { TTL: String(ttlSeconds), Urgency: 'high', Topic: 'autumn-sale' }, notification: { tag: 'autumn-sale' }, fcmOptions: { link } },
    };
  if (provider === 'apns')
    return {
      alert: { title, body },
      badge: 1,
      sound: 'default',
      threadId: 'promotions',
      collapseId: 'autumn-sale',
      expiry: Math.floor(Date.now() / 1000) + ttlSeconds,
      payload: { campaign: 'autumn-sale', coupon: row.coupon, link },
    };
  return JSON.stringify({ title, body, link, tag: 'autumn-sale', app_badge: 1, data: { campaign: 'autumn-sale', coupon: row.coupon } });
}

/** web-push's request options for that message, beside its VAPID details. */
export const webPushOptions = { TTL: ttlSeconds, urgency: 'high', topic: 'autumn-sale' };

export function startClock() {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const latencies = [];
  return {
    /** Times one message from hand-off to answer. */
    time: async (promise) => {
      const t = performance.now();
      try {
        return await promise;
      } finally {
        latencies.push(performance.now() - t);
      }
    },
    latencies,
    done(extra) {
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      latencies.sort((a, b) => a - b);
      const pick = (share) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))] * 10) / 10 : null);
      process.stdout.write(
        `${JSON.stringify({ seconds, cpuSeconds: (used.user + used.system) / 1e6, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), p50: pick(0.5), p99: pick(0.99), ...extra })}\n`,
      );
    },
  };
}

/** node-apn as a hand-written sender sets it up for the emulator: token auth, its CA, the sandbox. */
export function apnsProvider(config) {
  const url = new URL(config.apns.endpoint);
  return new apn.Provider({
    token: { key: config.apns.key, keyId: config.apns.keyId, teamId: config.apns.teamId },
    address: url.hostname,
    port: Number(url.port),
    ca: [config.ca],
    production: false,
  });
}
