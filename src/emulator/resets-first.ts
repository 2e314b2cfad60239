import type { Http2SecureServer, Http2Server, Http2Session } from 'node:http2';
import { Duplex } from 'node:stream';
import { Server as TlsServer, type TLSSocket } from 'node:tls';

/**
 * Node's HTTP/2 server, from Node 22 on, lets go of a stream its client reset only when its event
 * loop next turns (the stream leaves the session's table in a setImmediate), and counts it against
 * SETTINGS_MAX_CONCURRENT_STREAMS until then. A client at the limit that resets one request and
 * sends the one it had queued writes both frames at once; Node reads them in one go and refuses
 * the new stream with RST_STREAM ENHANCE_YOUR_CALM (Node 20 freed the slot at once). A provider
 * frees it at the reset, as RFC 9113 §5.1.2 counts streams: closed ones do not. So the emulator's
 * sessions read each connection's bytes up to the end of a RST_STREAM frame, and the rest a turn
 * later. Tests that stand up their own HTTP/2 server use it for the same reason.
 */
export function serveResetsFirst(server: Http2SecureServer | Http2Server): void {
  // Node 20 frees the slot at the reset; reading through ResetsFirst costs the emulator about a
  // quarter more CPU a request (its bytes go through JavaScript), so only later releases pay it.
  if (!holdsResetStreams) return;
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  // The HTTP/2 server's own listener, added when it was made; every later one is left alone.
  const [openSession] = server.listeners(event) as Array<(socket: Duplex) => void>;
  server.removeListener(event, openSession);
  server.on(event, (socket: TLSSocket) => {
    // HTTP/1.1 (ALPN) has no streams to free: it keeps its socket.
    if (socket.alpnProtocol === 'http/1.1' || socket.alpnProtocol === false) return openSession.call(server, socket);
    handing = socket;
    try {
      openSession.call(server, new ResetsFirst(socket));
    } finally {
      handing = undefined;
    }
  });
  server.on('session', (session: Http2Session) => {
    if (handing) transports.set(session, handing);
  });
}

const holdsResetStreams = Number(process.versions.node.split('.')[0]) >= 22;

/** The TLS connection under a session (through ResetsFirst or not): where its peer's address and certificate are. */
export function transportOf(session: Http2Session | undefined): TLSSocket | undefined {
  return session ? (transports.get(session) ?? (session.socket as TLSSocket)) : undefined;
}

const transports = new WeakMap<object, TLSSocket>();
/** The connection being handed to the HTTP/2 server, which emits 'session' while it takes it. */
let handing: TLSSocket | undefined;

const frameHeaderBytes = 9;
const rstStreamType = 0x3;
const clientPreface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** A connection as its HTTP/2 session reads it: whole, in order, with a turn of the event loop after each RST_STREAM. */
class ResetsFirst extends Duplex {
  /** The connection preface, then the header of the next frame, as far as it has come in. */
  private partial = Buffer.alloc(0);
  private prefaceLeft = clientPreface.length;
  /** Bytes of the current frame's payload still to pass. */
  private payloadLeft = 0;
  private inReset = false;
  /** Bytes that came in, or were left over, while the session waits a turn after a reset. */
  private held: Buffer[] = [];
  private holding = false;

  constructor(private readonly socket: TLSSocket) {
    super({ allowHalfOpen: true });
    this.alpnProtocol = socket.alpnProtocol;
    socket.on('data', (chunk: Buffer) => (this.holding ? this.held.push(chunk) : this.pass(chunk)));
    socket.on('end', () => this.whenCaughtUp(() => this.push(null)));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  /** What the HTTP/2 server checks to choose HTTP/2 over HTTP/1.1. */
  readonly alpnProtocol: string | false | null;

  /** Passes `chunk` on, up to the end of the first RST_STREAM frame that more bytes follow; those wait a turn. */
  private pass(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.prefaceLeft > 0) {
        const n = Math.min(this.prefaceLeft, chunk.length - at);
        this.prefaceLeft -= n;
        at += n;
        continue;
      }
      if (this.payloadLeft === 0) {
        const n = Math.min(frameHeaderBytes - this.partial.length, chunk.length - at);
        this.partial = Buffer.concat([this.partial, chunk.subarray(at, at + n)]);
        at += n;
        if (this.partial.length < frameHeaderBytes) continue;
        this.payloadLeft = this.partial.readUIntBE(0, 3);
        this.inReset = this.partial[3] === rstStreamType;
        this.partial = Buffer.alloc(0);
      }
      const n = Math.min(this.payloadLeft, chunk.length - at);
      this.payloadLeft -= n;
      at += n;
      if (this.inReset && this.payloadLeft === 0) {
        // Whatever follows waits, in this chunk or in the next one this same turn brings.
        this.inReset = false;
        this.push(chunk.subarray(0, at));
        this.holding = true;
        if (at < chunk.length) this.held.unshift(chunk.subarray(at));
        setImmediate(() => this.release());
        return;
      }
    }
    this.push(chunk);
  }

  private release(): void {
    this.holding = false;
    while (this.held.length > 0 && !this.isHolding()) this.pass(this.held.shift()!);
    if (!this.isHolding()) for (const then of this.caughtUp.splice(0)) then();
  }

  private isHolding(): boolean {
    return this.holding;
  }

  private caughtUp: Array<() => void> = [];
  private whenCaughtUp(then: () => void): void {
    if (this.holding) this.caughtUp.push(then);
    else then();
  }

  override _read(): void {
    // Pushed as it arrives: the session reads as fast as the connection brings it.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.socket.write(chunk, done);
  }

  override _final(done: () => void): void {
    this.socket.end(done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.socket.destroy();
    done(error);
  }
}
