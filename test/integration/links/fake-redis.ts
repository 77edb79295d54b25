import net from "node:net";
import { disposers, listen } from "./helpers.js";

/**
 * A Redis that knows PING, SET, GET, DEL and ECHO over RESP2 multibulk; it also records how
 * many commands reached it (so a test can tell the link answered some itself).
 */
export async function fakeRedis() {
  const store = new Map<string, string>();
  const seen = { commands: [] as string[][], bytes: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      seen.bytes += chunk.length;
      buf += chunk;
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        let at = m[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(m[1]); i++) {
          const h = /^\$(\d+)\r\n/.exec(buf.slice(at));
          if (!h) return;
          const len = Number(h[1]);
          if (buf.length < at + h[0].length + len + 2) return;
          args.push(buf.slice(at + h[0].length, at + h[0].length + len));
          at += h[0].length + len + 2;
        }
        buf = buf.slice(at);
        seen.commands.push(args);
        const [name = "", key = "", value = ""] = args;
        switch (name.toUpperCase()) {
          case "PING":
            socket.write("+PONG\r\n");
            break;
          case "SET":
            store.set(key, value);
            socket.write("+OK\r\n");
            break;
          case "GET": {
            const v = store.get(key);
            socket.write(v === undefined ? "$-1\r\n" : `$${Buffer.byteLength(v, "latin1")}\r\n${v}\r\n`, "latin1");
            break;
          }
          case "ECHO":
            socket.write(`$${key.length}\r\n${key}\r\n`, "latin1");
            break;
          default:
            socket.write(`-ERR unknown command '${name}'\r\n`);
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
  return { port, seen, store };
}

export const command = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
