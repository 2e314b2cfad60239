import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { socketHost } from '../../config/parse-endpoint.js';

/**
 * The agent of firebase-admin's HTTP/1.1 requests, `send()` and topic management (its
 * `httpAgent` app option, which its HTTP/2 path ignores): each Google host may be redirected to
 * an origin (a proxy, the emulator), trusting `ca`, and it says whether a connection was ever
 * established, since firebase-admin's errors do not: a request that never connected provably
 * never reached FCM. A connection silent for pushcast's request timeout is cut.
 */
export class FcmHttp1Agent extends https.Agent {
  /** TLS sessions established so far; each request has its own connection (no keep-alive), so a new one is the request's. */
  private established = 0;

  constructor(
    private readonly redirects: ReadonlyMap<string, URL>,
    private readonly limits: { ca?: string; timeoutMs: number },
  ) {
    super({ keepAlive: false });
  }

  /** Call before a request: the function says whether a connection was established since. */
  watch(): () => boolean {
    const before = this.established;
    return () => this.established > before;
  }

  override createConnection(options: https.RequestOptions, callback?: (error: Error | null, socket: Duplex) => void): Duplex {
    const target = this.redirects.get(String(options.host));
    const host = target && socketHost(target);
    const redirected = target ? { ...options, host, port: Number(target.port || 443), servername: isIP(host!) ? undefined : host, ca: this.limits.ca ?? options.ca } : options;
    const create = super.createConnection as unknown as (options: https.RequestOptions, callback?: unknown) => Duplex;
    const socket = create.call(this, redirected, callback);
    socket.once('secureConnect', () => this.established++);
    // pushcast's request deadline (--request-timeout), not firebase-admin's fixed 15 s, which it
    // sets as the socket's idle timeout: a connection carries one request, so this ends it.
    const deadline = setTimeout(() => socket.destroy(new Error(`no answer within the request timeout (${this.limits.timeoutMs / 1000} s)`)), this.limits.timeoutMs);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    return socket;
  }
}
