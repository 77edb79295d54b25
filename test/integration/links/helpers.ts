import net from "node:net";
import { VirtualClock } from "../../../src/clock.js";

export const disposers: (() => Promise<void> | void)[] = [];
export async function cleanup(): Promise<void> {
  for (const d of disposers.splice(0).reverse()) await d();
}

export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
}

/** A TCP echo server; records how many connections it saw. */
export async function echoServer() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  const port = await listen(server);
  disposers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port, sockets };
}

/** A client socket that records everything it receives and how it ended. */
export function client(port: number) {
  const socket = net.connect({ port, host: "127.0.0.1" });
  const state = { data: Buffer.alloc(0), ended: false, closed: false, error: undefined as string | undefined, connected: false };
  socket.on("connect", () => (state.connected = true));
  socket.on("data", (d) => (state.data = Buffer.concat([state.data, d])));
  socket.on("end", () => (state.ended = true));
  socket.on("close", () => (state.closed = true));
  socket.on("error", (e: NodeJS.ErrnoException) => (state.error = e.code));
  disposers.push(() => void socket.destroy());
  return { socket, state, text: () => state.data.toString() };
}

export function newClock() {
  return new VirtualClock();
}
