import type { Logger } from "pino";
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit, type Response as UndiciResponse } from "undici";
import { parseDuration } from "./clock.js";
import type { StackDescription } from "./config/types.js";
import type { EdgeState } from "./edge/index.js";
import { containerLogs, removeStack } from "./engine/containers.js";
import type { Docker } from "./engine/docker.js";
import { execCapture, type ExecResult } from "./engine/exec.js";
import { findServiceContainer, stackServices } from "./engine/inspect.js";
import { releaseStack } from "./engine/watchdog.js";
import { ProdlikeError } from "./errors.js";
import type { PlatformClient, RemoteApp, RemoteLinks } from "./platform/client.js";
import { clearState, readState } from "./state.js";
import type { WatchSession } from "./watch/index.js";

export interface HostEnv {
  readonly APP_URL: string;
  readonly DATABASE_URL: string;
  readonly REDIS_URL: string;
  readonly S3_ENDPOINT: string;
  readonly [key: string]: string;
}

/**
 * A stack that runs: its containers on the engine, the platform (edge, links, stand-in, clock,
 * app instance) among them. This object is a client of the platform's control API; stop the
 * stack with `down()`.
 */
export class RunningStack implements AsyncDisposable {
  readonly description: StackDescription;
  /** The HTTPS front, as this process reaches it. */
  readonly url: string;
  /** The plain-HTTP front (answers 301 to HTTPS). */
  readonly httpUrl: string;
  readonly env: HostEnv;
  readonly app: RemoteApp;
  readonly links: RemoteLinks;
  readonly platform: PlatformClient;
  readonly #docker: Docker;
  readonly #watch: WatchSession | undefined;
  readonly #release: () => void;
  readonly #logger: Logger;
  readonly #agent: Agent;
  #stopping: Promise<void> | undefined;

  constructor(parts: {
    description: StackDescription;
    docker: Docker;
    platform: PlatformClient;
    url: string;
    httpUrl: string;
    watch: WatchSession | undefined;
    release: () => void;
    env: HostEnv;
    logger: Logger;
    caPem: string;
  }) {
    this.description = parts.description;
    this.#docker = parts.docker;
    this.platform = parts.platform;
    this.app = parts.platform.app;
    this.links = parts.platform.links;
    this.#watch = parts.watch;
    this.#release = parts.release;
    this.env = parts.env;
    this.url = parts.url;
    this.httpUrl = parts.httpUrl;
    this.#logger = parts.logger;
    // The front's certificate is issued by prodlike's own CA: trust it here, and only here.
    this.#agent = new Agent({ connect: { ca: parts.caPem } });
  }

  /**
   * A request through the edge, as a browser would make it: HTTPS, Render's headers, sleep
   * and wake. `path` is relative to the app's URL ("/notes/") or a full URL. Redirects are
   * followed unless `redirect: "manual"` is given (then a 301 loop shows as it is).
   */
  fetch(path: string, init: UndiciRequestInit = {}): Promise<UndiciResponse> {
    return undiciFetch(new URL(path, this.url), { dispatcher: this.#agent, ...init });
  }

  /**
   * Run a command in a service's container (default the app) and collect its output.
   * A string runs under `bash -c` in the app's folder; an array runs as it is.
   */
  async exec(command: string | readonly string[], options: { service?: string; env?: Readonly<Record<string, string>> } = {}): Promise<ExecResult> {
    const service = options.service ?? "app";
    const id = service === "app" ? await this.app.containerId() : await findServiceContainer(this.#docker, this.description.project, service);
    if (!id) {
      const names = (await stackServices(this.#docker, this.description.project)).map((s) => s.name);
      throw new ProdlikeError(
        "SERVICE_UNKNOWN",
        service === "app" ? "the app has no running container (asleep or stopped): call wake() first" : `no service "${service}" runs in this stack: choose one of ${names.join(", ")}`,
      );
    }
    const cmd = typeof command === "string" ? ["bash", "-c", command] : command;
    return execCapture(this.#docker, id, cmd, { env: options.env });
  }

  /**
   * What a service printed. For the app, every line since the stack started (or since
   * `since`, epoch ms), across wakes and restarts; for the others, the last `tail` lines.
   */
  async logs(options: { service?: string; since?: number; tail?: number } = {}): Promise<string[]> {
    const service = options.service ?? "app";
    if (service === "app") {
      const lines = (await this.app.logs({ since: options.since })).map((entry) => entry.line);
      return options.tail === undefined ? lines : lines.slice(-options.tail);
    }
    const id = await findServiceContainer(this.#docker, this.description.project, service);
    if (!id) throw new ProdlikeError("SERVICE_UNKNOWN", `no service "${service}" runs in this stack`);
    const text = await containerLogs(this.#docker.getContainer(id), options.tail ?? 200);
    return text.replace(/\n$/, "").split("\n");
  }

  /** Remove the containers (the platform, the app) and the network; volumes only when asked. Idempotent. */
  down(options: { volumes?: boolean } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info({ project: this.description.project }, "stopping the stack");
      await this.#watch?.close();
      await removeStack(this.#docker, this.description.project, options);
      this.#release();
      releaseStack(this.description.project);
      await this.#agent.close().catch(() => {});
      const state = await readState(this.description.dir);
      if (state?.pid === process.pid && state.project === this.description.project) await clearState(this.description.dir);
    })();
    return this.#stopping;
  }

  /** Act as if `duration` (ms or "16m") passed: idle timers fire in order (pooler drops, sleep). */
  async idle(duration: number | string): Promise<void> {
    await this.platform.advance(typeof duration === "number" ? duration : parseDuration(duration));
  }

  sleep(): Promise<void> {
    return this.platform.sleep();
  }

  wake(): Promise<void> {
    return this.platform.wake();
  }

  /** The edge's state: running, sleeping, waking, unrouted, restarting. */
  edgeState(): Promise<EdgeState | "deploying"> {
    return this.platform.edgeState();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}
