import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import type { Logger } from "pino";
import { answerClientError } from "../edge/client-errors.js";

/** The first byte of a TLS record carrying a handshake (a ClientHello). */
const TLS_HANDSHAKE = 0x16;
/** A client that connects and sends nothing is dropped after this long. */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

/**
 * One port that answers both `https://host:port` and `http://host:port`, as res.cloudinary.com
 * answers both schemes: the SDK builds http URLs unless something sets `secure=True`, and the
 * host name and port in them are the same as in the https ones. The first byte decides: a TLS
 * handshake goes to the https server, anything else to the plain one.
 */
export function createEitherSchemeServer(options: {
  cert: string;
  key: string;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  logger: Logger;
}): { server: Server; closeAll(): void } {
  const { handle, logger } = options;
  const secure = createHttpsServer({ cert: options.cert, key: options.key, requestTimeout: 0 }, handle);
  const plain = createHttpServer({ requestTimeout: 0 }, handle);
  for (const inner of [secure, plain]) {
    // A malformed request gets its 400 (408, 431) on its own connection, as the front answers it.
    inner.on("clientError", (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket, logger));
  }
  secure.on("tlsClientError", (err) => logger.debug({ err }, "TLS client error"));
  const open = new Set<Socket>();
  const server = createNetServer((socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.on("error", (err) => logger.debug({ err }, "connection error before the first byte"));
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(chunk);
      (chunk[0] === TLS_HANDSHAKE ? secure : plain).emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
  });
  return {
    server,
    closeAll: () => {
      for (const socket of open) socket.destroy();
    },
  };
}
