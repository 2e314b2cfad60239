import type { ApnsEnvironment } from '../domain/recipient.js';

/**
 * pushcast's settings. Secrets (`serviceAccount`, `key`, `vapidPrivateKey`, …) may be a file path
 * or the content itself, which is how CI secrets arrive; `redactConfig` hides them for printing.
 */
export interface PushcastConfig {
  fcm?: {
    /** Service account JSON, or a path to it. Default: GOOGLE_APPLICATION_CREDENTIALS. */
    serviceAccount?: string;
    projectId?: string;
    /** Send to this origin instead of https://fcm.googleapis.com (a proxy or the emulator). */
    endpoint?: string;
    /** Messages per sendEach call: at most 500. */
    batchSize?: number;
    /** The Firebase Android app id (1:1234567890:android:0a1b2c…) whose delivery data `pushcast stats` reads. */
    androidAppId?: string;
    /** Read FCM's delivery data here instead of https://fcmdata.googleapis.com (the emulator). */
    dataEndpoint?: string;
    /** Manage topic subscriptions here instead of https://iid.googleapis.com, the Instance ID API (the emulator). */
    topicsEndpoint?: string;
  };
  apns?: {
    /** The .p8 signing key (token auth), or a path to it. */
    key?: string;
    keyId?: string;
    teamId?: string;
    /** Certificate auth instead of token auth: PEM certificate and key, or paths to them… */
    cert?: string;
    certKey?: string;
    /** …or the .p12/.pfx file Keychain exports (a path, or `base64:` and its bytes). */
    pfx?: string;
    /** Opens the .p12/.pfx, or an encrypted certKey. */
    passphrase?: string;
    /** The app's bundle id, used for rows without an apns_topic column. */
    topic?: string;
    /** For rows without an apns_environment column. Default: production. */
    environment?: ApnsEnvironment;
    /** Send to this origin instead of Apple's hosts (a proxy or the emulator). */
    endpoint?: string;
    /** Manage broadcast channels here instead of Apple's api-manage-broadcast hosts (the emulator). */
    channelsEndpoint?: string;
  };
  webpush?: {
    vapidPublicKey?: string;
    vapidPrivateKey?: string;
    /** mailto: or https: contact for push services. */
    subject?: string;
    /** Send every request to this origin instead of the subscription's (a proxy or the emulator). */
    endpoint?: string;
    /** Push service origins to allow besides the public ones (FCM, Mozilla, Windows, Apple). */
    allowedOrigins?: string[];
    /**
     * The JSON a subscription receives: `pushcast` (default; a service worker shows it) or
     * `declarative` (Declarative Web Push: Safari 18.4+ shows it with no service worker).
     */
    format?: 'pushcast' | 'declarative';
  };
  /** PEM file of a certificate authority to trust for the endpoint overrides (the emulator's). */
  ca?: string;
  /** A request with no answer after this long is abandoned as uncertain (--request-timeout): seconds, or "30s". Default 30 s. */
  requestTimeout?: string | number;
  /** A provider that answers nothing for this long is stalled and the campaign stops (--stall-timeout). Default 2 minutes. */
  stallTimeout?: string | number;
  /** Recipients in flight per provider (--concurrency). */
  concurrency?: number;
  /** Threads the provider clients send from (--workers); 0 (the default) sends from the main thread. */
  workers?: number;
  /** Sends per second, as --rate takes it: "500", "30000/m", "fcm=10000,apns=2000". */
  rate?: string | number;
  /** Where campaign journals are kept (--journal-dir). Default: ./.pushcast */
  journalDir?: string;
  /** The device registry (SQLite) for user-ID audiences and channels. Default: ./pushcast.db */
  registry?: string;
  /** A frequency cap for every send from the registry (--cap): "2/24h"; --no-cap lifts it for a transactional message. */
  cap?: string;
}
