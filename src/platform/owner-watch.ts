import { hostname } from "node:os";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Docker } from "../engine/docker.js";
import { removeNetwork } from "../engine/containers.js";
import { projectFilter } from "../engine/labels.js";

/** After the owner's last connection closes, this long for it to come back before the stack is removed. */
export const OWNER_GRACE_MS = 3_000;
/** An owned stack whose owner never connects is removed after this long. */
export const FIRST_CONNECT_MS = 120_000;
const HEARTBEAT_MS = 2_000;

/**
 * Ryuk's rule, inside the platform: the process that owns the stack (a foreground `up`, the
 * library) keeps a connection open to GET /owner; when the last one closes (the owner exited
 * or was killed: the kernel closes its sockets, wherever it ran) and none comes back within
 * the grace time, the platform removes its stack: the other containers, the network, itself.
 * Volumes stay. A detached stack has no owner and lives until `down`.
 */
export class OwnerWatch {
  readonly #docker: Docker;
  readonly #project: string;
  readonly #log: Logger;
  readonly #onReap: () => Promise<void>;
  #connections = 0;
  #timer: NodeJS.Timeout | undefined;
  #reaping: Promise<void> | undefined;

  constructor(options: { docker: Docker; project: string; logger: Logger; beforeReap: () => Promise<void> }) {
    this.#docker = options.docker;
    this.#project = options.project;
    this.#log = options.logger.child({ component: "owner-watch" });
    this.#onReap = options.beforeReap;
    this.#arm(FIRST_CONNECT_MS, "the owner never connected");
  }

  /** GET /owner: hold the response open, a line every 2 s, until either side goes. */
  connect(req: IncomingMessage, res: ServerResponse): void {
    this.#connections++;
    clearTimeout(this.#timer);
    res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
    res.write("owned\n");
    const beat = setInterval(() => res.write("ok\n"), HEARTBEAT_MS);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(beat);
      if (--this.#connections === 0) this.#arm(OWNER_GRACE_MS, "the owner's connection closed");
    };
    req.socket.on("close", close);
    res.on("close", close);
    this.#log.info({ connections: this.#connections }, "owner connected");
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #arm(ms: number, reason: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reap(reason), ms);
  }

  /** Remove the stack: every other container, then this one's network membership, the network, this container. */
  reap(reason: string): Promise<void> {
    this.#reaping ??= (async () => {
      const started = Date.now();
      this.#log.warn({ reason, project: this.#project }, "owner gone: removing the stack");
      await this.#onReap().catch((err: unknown) => this.#log.debug({ err }, "stopping the platform's parts before the reap"));
      const filters = projectFilter(this.#project);
      const self = hostname();
      const containers = await this.#docker.listContainers({ all: true, filters });
      const mine = containers.find((c) => c.Id.startsWith(self));
      await Promise.all(
        containers.filter((c) => c !== mine).map((c) => this.#docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})),
      );
      const networks = await this.#docker.listNetworks({ filters });
      // Disconnects this container too (and a CI job's that joined), so the network can go.
      for (const network of networks) await removeNetwork(this.#docker, network.Id);
      this.#log.info({ containers: containers.length, networks: networks.length, ms: Date.now() - started }, "stack removed; removing the platform");
      // Last: removing this container ends this process.
      if (mine) await this.#docker.getContainer(mine.Id).remove({ force: true, v: true }).catch(() => {});
      process.exit(0);
    })();
    return this.#reaping;
  }
}
