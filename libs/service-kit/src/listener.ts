// One port for every protocol: HTTP/2 (gRPC, Connect, gRPC-Web) and HTTP/1.1 (Connect JSON,
// gRPC-Web, /metrics). In cleartext the first bytes of a connection decide: the HTTP/2 client
// preface goes to the HTTP/2 server, anything else to the HTTP/1.1 server. With TLS, ALPN decides.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";

type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface ListenOptions {
  host: string;
  port: number;
  handler: Handler;
  tls?: { certFile: string; keyFile: string };
  /**
   * HTTP/2 memory per session, in MB. Node's default (10) resets the whole session with
   * ENHANCE_YOUR_CALM once a few large messages are in flight, failing every call on it; it must
   * hold several messages of the largest size the service accepts.
   */
  maxSessionMemoryMb?: number;
}

export interface Listener {
  port: number;
  /** Stops accepting connections, lets open ones finish for up to `graceMs`, then cuts them. */
  close(graceMs: number): Promise<void>;
}

export async function listen(options: ListenOptions): Promise<Listener> {
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const onSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  };

  let outer: net.Server;
  let h1: http.Server | undefined;
  if (options.tls) {
    const secure = http2.createSecureServer(
      { cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile), allowHTTP1: true, maxSessionMemory: options.maxSessionMemoryMb },
      options.handler as never,
    );
    secure.on("session", onSession);
    secure.on("secureConnection", track);
    outer = secure;
  } else {
    const h2 = http2.createServer({ maxSessionMemory: options.maxSessionMemoryMb }, options.handler as never);
    h2.on("session", onSession);
    h1 = http.createServer(options.handler as never);
    h1.keepAliveTimeout = 5_000;
    const servers = { h1, h2 };
    // Small RPC frames must leave at once: without noDelay, Nagle's algorithm holds them for the
    // peer's delayed ACK (about 40 ms per call).
    outer = net.createServer({ noDelay: true }, (socket) => {
      track(socket);
      sniff(socket, servers);
    });
  }

  await new Promise<void>((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(options.port, options.host, () => {
      outer.off("error", reject);
      resolve();
    });
  });

  return {
    port: (outer.address() as AddressInfo).port,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => outer.close(() => resolve()));
      for (const session of sessions) session.close();
      h1?.closeIdleConnections();
      const deadline = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      // HTTP/1.1 keep-alive connections become idle after their request; close them as they do.
      const idle = setInterval(() => h1?.closeIdleConnections(), 100);
      await closed;
      clearTimeout(deadline);
      clearInterval(idle);
    },
  };
}

function sniff(socket: Socket, servers: { h1: http.Server; h2: http2.Http2Server }): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isHttp2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isHttp2 && seen.length < PREFACE.length) return;
    socket.off("data", onData);
    socket.pause();
    if (isHttp2) {
      // The HTTP/2 session reads what a socket holds buffered before it reads its native handle
      // (nodejs/node#34532), so the gRPC path keeps the native socket: a JS stream in between
      // costs every write a round through JavaScript.
      socket.unshift(seen);
      servers.h2.emit("connection", socket);
    } else {
      servers.h1.emit("connection", replaying(socket, seen));
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}

/**
 * The HTTP/1.1 server reads from a net.Socket's native handle, which no longer holds the bytes
 * the sniffer consumed; this duplex replays them, then relays the socket both ways.
 */
function replaying(socket: Socket, consumed: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  duplex.push(consumed);
  socket.on("data", (chunk) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("close", () => duplex.destroy());
  return duplex;
}
