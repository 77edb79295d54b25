import { request } from "node:http";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import type { PlanLimits } from "../config/types.js";
import { createContainer, followLogs, publishedPort, waitReady } from "../engine/containers.js";
import type { Docker } from "../engine/docker.js";
import { containerName } from "../engine/labels.js";
import { APP_CA_FILE, APP_SOURCE_DIR } from "../engine/app-build.js";
import { APP_PORT } from "./app-env.js";

export interface AppInstanceOptions {
  readonly project: string;
  readonly image: string;
  readonly startCommand: string;
  readonly startCommandSource: string;
  /** Env for every container; `perInstance` adds what differs per container. */
  readonly env: Readonly<Record<string, string>>;
  readonly perInstance: () => Record<string, string>;
  readonly limits: PlanLimits;
  readonly labels: Readonly<Record<string, string>>;
  readonly healthCheckPath: string | null;
  readonly publicHost: string;
  readonly bootTimeoutMs?: number;
  readonly extraHosts?: readonly string[];
  readonly logger: Logger;
}

/**
 * Trust prodlike's CA next to Debian's (the links present certificates it signed, as Upstash
 * presents a public one): a bundle made at start, named by SSL_CERT_FILE / REQUESTS_CA_BUNDLE.
 */
const TRUST_BUNDLE = "/tmp/prodlike-ca-bundle.crt";
// certifi's bundle too: the Cloudinary SDK pins it (each container is fresh, so this appends once).
const TRUST_PREFIX =
  `cat /etc/ssl/certs/ca-certificates.crt ${APP_CA_FILE} > ${TRUST_BUNDLE} 2>/dev/null; export SSL_CERT_FILE=${TRUST_BUNDLE} REQUESTS_CA_BUNDLE=${TRUST_BUNDLE}; ` +
  `for f in /opt/render/project/.venv/lib/python3*/site-packages/certifi/cacert.pem; do [ -w "$f" ] && cat ${APP_CA_FILE} >> "$f"; done 2>/dev/null;`;

export interface AppAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * The app's web process. Every start is a fresh container from the built image: the disk is
 * ephemeral, as on Render.
 */
export class AppInstance {
  readonly #docker: Docker;
  readonly #options: AppInstanceOptions;
  #container: Dockerode.Container | undefined;
  #address: AppAddress | undefined;
  #stopLogs: (() => void) | undefined;
  #starts = 0;

  constructor(docker: Docker, options: AppInstanceOptions) {
    this.#docker = docker;
    this.#options = options;
  }

  get address(): AppAddress | undefined {
    return this.#address;
  }

  get containerId(): string | undefined {
    return this.#container?.id;
  }

  /** Starts after the first: wakes, redeploys and restarts. */
  get restarts(): number {
    return Math.max(0, this.#starts - 1);
  }

  async start(): Promise<AppAddress> {
    await this.stop();
    const { limits, logger } = this.#options;
    const container = await createContainer(this.#docker, {
      project: this.#options.project,
      service: "app",
      name: containerName(this.#options.project, "app"),
      image: this.#options.image,
      labels: this.#options.labels,
      env: { ...this.#options.env, ...this.#options.perInstance() },
      cmd: ["bash", "-c", `${TRUST_PREFIX} exec ${this.#options.startCommand}`],
      workingDir: APP_SOURCE_DIR,
      alias: "app",
      publish: [APP_PORT],
      memoryMb: limits.memoryMb,
      cpus: process.env.PRODLIKE_CPU_LIMITS === "off" ? undefined : limits.cpus,
      extraHosts: this.#options.extraHosts,
    });
    this.#container = container;
    this.#starts++;
    const log = logger.child({ service: "app" });
    // Follow after start (a follow on a created container ends at once); it replays from the start.
    await container.start();
    this.#stopLogs = await followLogs(this.#docker, container, (line) => log.info(line));
    // An app that dies at once has no port mapping: waitReady then reports the exit and its logs.
    let port: number | undefined;
    const started = Date.now();
    await waitReady(container, {
      what: this.#options.healthCheckPath
        ? `GET ${this.#options.healthCheckPath} answering 2xx/3xx on port ${APP_PORT}`
        : `an HTTP answer on port ${APP_PORT}`,
      timeoutMs: this.#options.bootTimeoutMs ?? 180_000,
      probe: async () => this.#probe((port ??= await publishedPort(container, APP_PORT))),
      hint: (logs) => bootHint(logs, this.#options.startCommand, this.#options.startCommandSource),
    });
    log.info({ seconds: ((Date.now() - started) / 1000).toFixed(1), container: container.id.slice(0, 12) }, "app is up");
    this.#address = { host: "127.0.0.1", port: port! };
    return this.#address;
  }

  async stop(): Promise<void> {
    this.#stopLogs?.();
    this.#stopLogs = undefined;
    this.#address = undefined;
    const container = this.#container;
    this.#container = undefined;
    if (container) await container.remove({ force: true }).catch(() => {});
  }

  /** Any HTTP answer means gunicorn serves; with a health path, it must be 2xx/3xx. */
  #probe(port: number): Promise<boolean> {
    const path = this.#options.healthCheckPath ?? "/";
    const strict = this.#options.healthCheckPath !== null;
    return new Promise((resolve) => {
      const req = request(
        { host: "127.0.0.1", port, path, timeout: 5000, headers: { host: this.#options.publicHost, "x-forwarded-proto": "https" } },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          resolve(!strict || (status >= 200 && status < 400));
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
      req.end();
    });
  }
}

export function bootHint(logs: string, command: string, source: string): string | undefined {
  const program = command.trim().split(/\s+/)[0] ?? command;
  if (new RegExp(`${escape(program)}: (command )?not found`).test(logs)) {
    return `"${program}" is not installed in the app (start command from ${source}). Add ${program} to requirements.txt and run up again.`;
  }
  if (/ModuleNotFoundError: No module named '([^']+)'/.test(logs)) {
    const name = /ModuleNotFoundError: No module named '([^']+)'/.exec(logs)![1];
    return `Python cannot import "${name}": add the package to requirements.txt, or fix the module path in the start command (${source}).`;
  }
  if (/Perhaps out of memory\?|Killed/.test(logs)) return "A worker was killed: the plan's memory limit was exceeded.";
  if (/ImproperlyConfigured/.test(logs)) return "Django's settings are not valid in production (DEBUG=False): read the ImproperlyConfigured line above.";
  return undefined;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
