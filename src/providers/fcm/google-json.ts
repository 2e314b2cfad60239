import { request } from 'node:https';

/**
 * One HTTPS exchange with a Google API (the token endpoint, the FCM Data API): its status and its
 * JSON body (an empty object for a body that is not JSON, as a proxy's HTML page; the status says
 * enough). `signal`: the provider is closing, and a request still out is of no use.
 */
export function googleJson(
  url: string | URL,
  options: { method: 'GET' | 'POST'; headers?: Record<string, string | number>; body?: string; ca?: string; signal?: AbortSignal; timeoutMs: number },
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const { method, headers, body, ca, signal, timeoutMs } = options;
    const req = request(url, { method, ca, signal, timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          // not JSON: the status says enough
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
