import type { Server } from "node:net";
import type { AddressInfo } from "node:net";
import { ProdlikeError } from "../errors.js";

/** Listen on 127.0.0.1 (or `host`); a taken port is a user error that says how to get out of it. */
export function listenLocal(server: Server, port: number, flag: string, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") {
        const why = err.code === "EADDRINUSE" ? "is already taken" : "may not be used by this user";
        reject(
          new ProdlikeError(
            "PORT_TAKEN",
            `port ${port} on ${host} ${why}: free it (\`ss -ltnp 'sport = :${port}'\` shows what holds it) ` +
              `or choose another with ${flag} <port> (${flag} 0 picks a free one)`,
            { cause: err },
          ),
        );
      } else reject(err);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Close a server and every connection it still holds. */
export function closeServer(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections?.();
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** Fail fast, before minutes of building, when a fixed port is taken; 0 always passes. */
export async function assertPortFree(port: number, flag: string): Promise<void> {
  if (port === 0) return;
  const { createServer } = await import("node:net");
  const server = createServer();
  await listenLocal(server, port, flag);
  await closeServer(server);
}
