import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';
import { parseRetryAfter } from '../parse-retry-after.js';

type RequestFn = (session: ClientHttp2Session, ...rest: unknown[]) => Promise<unknown>;

/**
 * node-apn reads `headers['Retry-After']`, but HTTP/2 header names are lower-case, so it never
 * sees one, and it deletes the field before answering anyway. This wraps the client's request
 * to note each response's `retry-after` by request path (`/3/device/<token>`), which is unique
 * per recipient in a campaign. Without the private `client.request` (a node-apn upgrade), it
 * does nothing and pushcast falls back to its own backoff; test/providers.test.ts pins it.
 */
export function observeRetryAfter(provider: object): (path: string) => number | undefined {
  const seen = new Map<string, number>();
  const client = (provider as { client?: { request?: RequestFn } }).client;
  const request = client?.request;
  if (!client || typeof request !== 'function') return () => undefined;
  client.request = function (this: unknown, session: ClientHttp2Session, ...rest: unknown[]) {
    const observed = new Proxy(session, {
      get(target, property) {
        if (property === 'request') {
          return (headers: OutgoingHttpHeaders, ...options: unknown[]) => {
            const stream = (target.request as (...args: unknown[]) => ReturnType<ClientHttp2Session['request']>)(headers, ...options);
            stream.on('response', (response) => {
              const retryAfterMs = parseRetryAfter(response['retry-after']);
              if (retryAfterMs !== undefined) seen.set(String(headers[':path']), retryAfterMs);
            });
            return stream;
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    return request.call(this, observed, ...rest);
  };
  return (path) => {
    const value = seen.get(path);
    seen.delete(path);
    return value;
  };
}
