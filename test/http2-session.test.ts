import { once } from 'node:events';
import http2 from 'node:http2';
import { connect as connectTcp, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveResetsFirst } from '../src/emulator/resets-first.js';
import { classifyNoAnswer, closedWithoutAnswer } from '../src/providers/http2/no-answer.js';
import { SessionRecord } from '../src/providers/http2/session-record.js';
import { localCertificate } from './helpers/local-certificate.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * The record of an HTTP/2 session (src/providers/http2/session-record.ts) against a real local
 * HTTP/2 server over TLS: what each request's end proves, judged as the adapters judge it
 * (`classifyNoAnswer` with the record's `written` and `refused`), beside what the server took up.
 */

/** How the local server treats a request, by its path; any other path is held unanswered. */
const answered = '/answered';
const refused = '/refused';
/** Answered, after a GOAWAY whose last stream is this one: every stream above it is refused. */
const lastBeforeGoaway = '/last-before-goaway';

interface LocalServer {
  origin: string;
  /** The paths whose streams the server took up (answered, refused or held), in order. */
  received: string[];
  /** The TCP connections it accepted, to end from the server's side. */
  sockets: Socket[];
  close(): void;
}

let tls: { key: string; cert: string };
beforeAll(async () => {
  tls = await localCertificate();
});

const open: Array<{ close(): void }> = [];
afterAll(() => open.forEach((one) => one.close()));

async function startServer(maxConcurrentStreams = 100): Promise<LocalServer> {
  const server = http2.createSecureServer({ ...tls, settings: { maxConcurrentStreams } });
  serveResetsFirst(server); // frees a reset stream's slot at once, as providers do (Node 22+ servers refuse the queued one)
  const received: string[] = [];
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => sockets.push(socket));
  let goawayLastId: number | undefined;
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined); // a held one is reset when the client goes
    // RFC 9113 §6.8: a server that sent GOAWAY does not process the streams above its last one.
    if (goawayLastId !== undefined && stream.id! > goawayLastId) return;
    const path = String(headers[':path']);
    received.push(path);
    stream.resume();
    if (path === answered) stream.respond({ ':status': 200 }, { endStream: true });
    else if (path === refused) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    else if (path === lastBeforeGoaway) {
      goawayLastId = stream.id;
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
      stream.respond({ ':status': 200 }, { endStream: true });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = { origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, received, sockets, close: () => server.close() };
  open.push(local);
  return local;
}

/** A TCP server that accepts and says nothing: a TLS handshake with it never completes. */
async function startSilent(): Promise<LocalServer> {
  const sockets: Socket[] = [];
  const server: Server = createTcpServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const silent = {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: [],
    sockets,
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      server.close();
    },
  };
  open.push(silent);
  return silent;
}

/**
 * A TCP proxy to `target` that, once told to, swallows every byte both ways and keeps both
 * connections open: a connection that died without a word (a NAT or a load balancer that forgot it).
 */
async function startBlackHole(target: string): Promise<{ origin: string; swallow(): void }> {
  let swallowing = false;
  const sockets: Socket[] = [];
  const { port } = new URL(target);
  const proxy: Server = createTcpServer((client) => {
    const upstream = connectTcp(Number(port), '127.0.0.1');
    sockets.push(client, upstream);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      from.on('data', (chunk: Buffer) => swallowing || to.write(chunk));
      from.on('error', () => undefined);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  open.push({
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      proxy.close();
    },
  });
  return { origin: `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`, swallow: () => (swallowing = true) };
}

/** One client session and its record, as an adapter holds them. */
interface Client {
  record: SessionRecord;
  /** Sends a request; settles with `answered <status>`, or with the outcome its end proves and the record's verdict: `kind because-or-reason (verdict)`. */
  send(path: string): Promise<string>;
}

function connect(origin: string, requestTimeoutMs: number): Client {
  const session = http2.connect(origin, { ca: tls.cert });
  session.on('error', () => undefined); // each stream settles with its own error
  const record = new SessionRecord(session, requestTimeoutMs);
  open.push({ close: () => session.destroy() });
  const send = (path: string) => {
    const stream = session.request({ ':method': 'POST', ':path': path });
    record.startDeadline(stream);
    const judge = record.watch(stream);
    stream.on('error', () => undefined); // judged at close, as web push's connections do
    stream.resume();
    stream.end('x');
    return new Promise<string>((resolve) => {
      let status: number | undefined;
      stream.once('response', (headers) => (status = Number(headers[':status'])));
      stream.once('close', () => {
        if (status !== undefined) return resolve(`answered ${status}`);
        const { written, refused, unsent } = judge();
        const outcome = classifyNoAnswer(stream.errored ?? closedWithoutAnswer(stream.rstCode), { written, refused });
        const why = 'because' in outcome && outcome.because ? outcome.because : 'reason' in outcome ? outcome.reason : '';
        // The record's own verdict too: an error's text can say REFUSED_STREAM by itself.
        const verdict = [refused && 'refused', unsent && 'unsent', written ? 'written' : 'not written'].filter(Boolean).join(', ');
        resolve(`${outcome.kind} ${why} (${verdict})`);
      });
    });
  };
  return { record, send };
}

interface Row {
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS. */
  limit?: number;
  /** The record's request deadline. */
  timeoutMs?: number;
  /** Nothing answers its TLS handshake: the session never connects. */
  neverConnects?: boolean;
  /** Sends, and does to the session or the server what the row says; the outcome of each path. */
  act(client: Client, server: LocalServer): Promise<Record<string, string>>;
  /** The outcome each path's end proves. */
  outcomes: Record<string, string>;
  /** What the server took up. */
  received: string[];
}

/** Sends `held`, then `queued` behind it once the server holds `held`, then ends the session as `end` says. */
const queuedWhen =
  (end: (client: Client, server: LocalServer) => void): Row['act'] =>
  async (client, server) => {
    const held = client.send('/held');
    const queued = client.send('/queued');
    await waitFor(() => server.received.includes('/held'), 'the server to hold the first request');
    end(client, server);
    return { '/held': await held, '/queued': await queued };
  };

const rows: Record<string, Row> = {
  'answered: accepted, as the answer says': {
    act: async (client) => ({ [answered]: await client.send(answered) }),
    outcomes: { [answered]: 'answered 200' },
    received: [answered],
  },
  'sent and never answered past its deadline: uncertain (timeout)': {
    timeoutMs: 500,
    act: async (client) => ({ '/held': await client.send('/held') }),
    outcomes: { '/held': 'uncertain timeout (written)' },
    received: ['/held'],
  },
  "queued behind the server's SETTINGS_MAX_CONCURRENT_STREAMS when the record destroys the session: not sent; the one sent: uncertain": {
    limit: 1,
    act: queuedWhen((client) => client.record.destroy()),
    outcomes: { '/held': 'uncertain no-answer (written)', '/queued': 'retryable not-sent (unsent, not written)' },
    received: ['/held'],
  },
  'queued behind the limit when the server closes the connection: not sent': {
    limit: 1,
    act: queuedWhen((_client, server) => server.sockets.forEach((socket) => socket.destroy())),
    outcomes: { '/held': 'uncertain no-answer (written)', '/queued': 'retryable not-sent (unsent, not written)' },
    received: ['/held'],
  },
  'queued behind the limit when the server resets the connection: not sent': {
    limit: 1,
    act: queuedWhen((_client, server) => server.sockets.forEach((socket) => socket.resetAndDestroy())),
    outcomes: { '/held': 'uncertain no-answer (written)', '/queued': 'retryable not-sent (unsent, not written)' },
    received: ['/held'],
  },
  'refused unread (REFUSED_STREAM): refused': {
    act: async (client) => ({ [refused]: await client.send(refused) }),
    outcomes: { [refused]: 'retryable refused (refused, written)' },
    received: [refused],
  },
  "above the last stream id of the server's GOAWAY: refused; the last one answered": {
    act: async (client) => {
      const [last, above] = await Promise.all([client.send(lastBeforeGoaway), client.send('/above-goaway')]);
      return { [lastBeforeGoaway]: last, '/above-goaway': above };
    },
    outcomes: { [lastBeforeGoaway]: 'answered 200', '/above-goaway': 'retryable refused (refused, written)' },
    received: [lastBeforeGoaway],
  },
  'ended at its deadline on a session that never connected (its TLS handshake never completed): not sent': {
    neverConnects: true,
    timeoutMs: 500,
    act: async (client) => ({ '/never': await client.send('/never') }),
    outcomes: { '/never': 'retryable not-sent (not written)' },
    received: [],
  },
};

describe('the record of an HTTP/2 session', () => {
  it.each(Object.keys(rows))('%s', async (name) => {
    const row = rows[name];
    const server = row.neverConnects ? await startSilent() : await startServer(row.limit);
    const client = connect(server.origin, row.timeoutMs ?? 60_000);
    if (!row.neverConnects) await once(client.record.session, 'remoteSettings');
    expect(await row.act(client, server)).toEqual(row.outcomes);
    expect(server.received).toEqual(row.received);
    expect(client.record.connected).toBe(!row.neverConnects);
  });

  // A connection that died without a word: the request out reaches its deadline unheard, and the
  // ones queued behind it would leave into the void as it ends (or, with a client that can no longer
  // write, as on Node 22 after the emulator's cut, never leave at all).
  it('drops a session whose connection went silent once a PING goes unanswered, before a queued request can leave into it: those are not sent', async () => {
    const server = await startServer(1);
    const blackHole = await startBlackHole(server.origin);
    const client = connect(blackHole.origin, 500);
    await once(client.record.session, 'remoteSettings');
    const outcomes = ['/held', '/next', '/last'].map((path) => client.send(path));
    await waitFor(() => server.received.includes('/held'), 'the server to hold the first request');
    blackHole.swallow();
    expect(await Promise.all(outcomes)).toEqual(['uncertain no-answer (written)', 'retryable not-sent (unsent, not written)', 'retryable not-sent (unsent, not written)']);
    expect(client.record.session.destroyed).toBe(true);
    expect(server.received).toEqual(['/held']);
  });

  it("counts a request's deadline from when it left the queue behind the server's limit, and ends one that went out unanswered", async () => {
    const timeoutMs = 1000;
    const arrivedAt = new Map<string, number>();
    const server = http2.createServer({ settings: { maxConcurrentStreams: 1 } });
    serveResetsFirst(server);
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      arrivedAt.set(path, performance.now());
      stream.on('error', () => undefined); // the held one is reset when the client goes
      stream.resume();
      const answerAfterMs = { '/slow': 900, '/left-late': 300, '/queued': 0 }[path];
      if (answerAfterMs !== undefined) setTimeout(() => stream.respond({ ':status': 200 }, { endStream: true }), answerAfterMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      await once(client, 'remoteSettings');
      const record = new SessionRecord(client, timeoutMs);
      const outcome = (path: string) => {
        const stream = client.request({ ':method': 'POST', ':path': path });
        record.startDeadline(stream);
        stream.end('x');
        return new Promise<string | number>((resolve) => {
          stream.once('response', (headers) => resolve(Number(headers[':status'])));
          stream.once('error', (error: NodeJS.ErrnoException) => resolve(`${error.code} after ${performance.now() - arrivedAt.get(path)!} ms`));
        });
      };
      // One stream at a time: each waits for the one before it to end.
      const slow = outcome('/slow'); // answered 0.9 s after it was opened
      const leftLate = outcome('/left-late'); // goes out 0.1 s before its own deadline, answered 0.3 s later
      const held = outcome('/held'); // goes out at about 1.2 s, never answered
      const queued = outcome('/queued'); // goes out when the held one is ended
      expect(await slow).toBe(200);
      expect(await leftLate).toBe(200);
      const [, code, waitedMs] = /^(\w+) after ([\d.]+) ms$/.exec(String(await held)) ?? [];
      expect(code).toBe('ETIMEDOUT');
      expect(Number(waitedMs)).toBeGreaterThanOrEqual(timeoutMs - 50); // counted from when it went out, not when it was opened
      expect(await queued).toBe(200);
      expect([...arrivedAt.keys()]).toEqual(['/slow', '/left-late', '/held', '/queued']);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
