import type { Duplex } from "node:stream";
import type { Logger } from "pino";

/**
 * Bad HTTP from a client (a malformed request line, oversized headers, a request that never
 * finishes) is answered on that connection alone and the connection closed, as a front proxy
 * does. Nothing here can touch another client's connection.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, log: Logger): void {
  const status = statusFor(err.code);
  log.debug({ code: err.code, status }, "bad request from client");
  if (!socket.writable || status === undefined) {
    socket.destroy();
    return;
  }
  const reason = status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request";
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // A client that does not read its answer must not keep the socket forever.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function statusFor(code: string | undefined): number | undefined {
  switch (code) {
    case "ECONNRESET":
    case "EPIPE":
      return undefined;
    case "HPE_HEADER_OVERFLOW":
      return 431;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408;
    default:
      return 400;
  }
}
