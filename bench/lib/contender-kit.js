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

/** The same message pushcast sends for fixtures/message.json, as each library takes it. */
export function messageFor(provider, row) {
  const title = `Autumn sale, ${row.name || 'friend'}!`;
  const body = `Use code ${row.coupon} for 20% off until Sunday.`;
  if (provider === 'fcm')
    return { token: row.token, notification: { title, body }, data: { campaign: 'autumn-sale', coupon: row.coupon }, android: { collapseKey: 'autumn-sale' } };
  if (provider === 'apns') return { alert: { title, body }, payload: { campaign: 'autumn-sale', coupon: row.coupon } };
  return JSON.stringify({ title, body, data: { campaign: 'autumn-sale', coupon: row.coupon } });
}

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
