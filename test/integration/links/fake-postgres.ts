import net from "node:net";
import { MessageFramer, parseOpeningPacket } from "../../../src/links/postgres/wire.js";
import { disposers, listen } from "./helpers.js";

function msg(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};

/**
 * A Postgres server that speaks just enough protocol: plaintext only (it answers SSLRequest
 * with 'N', so a link that sent one upstream would be caught), trust auth, and every simple
 * query returns one row `1`. Records startups, cancel requests and queries.
 */
export async function fakePostgres() {
  const seen = { startups: [] as Record<string, string>[], cancels: 0, sslRequests: 0, queries: [] as string[] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    let started = false;
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (!started) {
        const packet = parseOpeningPacket(buf);
        if (!packet) return;
        buf = buf.subarray(packet.bytes.length);
        if (packet.kind === "ssl") {
          seen.sslRequests++;
          socket.write("N");
        } else if (packet.kind === "cancel") {
          seen.cancels++;
          socket.end();
          return;
        } else if (packet.kind === "startup") {
          seen.startups.push(packet.parameters);
          started = true;
          socket.write(
            Buffer.concat([
              msg("R", i32(0)),
              msg("S", Buffer.concat([cstr("server_version"), cstr("15.8")])),
              msg("S", Buffer.concat([cstr("client_encoding"), cstr("UTF8")])),
              msg("S", Buffer.concat([cstr("standard_conforming_strings"), cstr("on")])),
              msg("K", Buffer.concat([i32(4242), i32(7)])),
              msg("Z", Buffer.from("I")),
            ]),
          );
        }
      }
      while (buf.length >= 5) {
        const length = buf.readInt32BE(1);
        if (buf.length < length + 1) return;
        const type = String.fromCharCode(buf[0]!);
        const body = buf.subarray(5, length + 1);
        buf = buf.subarray(length + 1);
        if (type === "X") {
          socket.end();
          return;
        }
        if (type === "Q") {
          seen.queries.push(body.subarray(0, body.length - 1).toString());
          const field = Buffer.concat([cstr("?column?"), i32(0), i16(0), i32(23), i16(4), i32(-1), i16(0)]);
          socket.write(
            Buffer.concat([
              msg("T", Buffer.concat([i16(1), field])),
              msg("D", Buffer.concat([i16(1), i32(1), Buffer.from("1")])),
              msg("C", cstr("SELECT 1")),
              msg("Z", Buffer.from("I")),
            ]),
          );
        }
      }
    });
  });
  const port = await listen(server);
  disposers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port, seen, sockets };
}

export { msg, cstr, i32, MessageFramer };
