// The one file of src/watch that talks to Docker; it belongs in src/engine (the only dockerode
// importer) and is kept here until the stack wires watch mode.
import { stat } from "node:fs/promises";
import { join, posix, relative, sep } from "node:path";
import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import tar from "tar-fs";
import { APP_SOURCE_DIR } from "./app-build.js";
import type { Docker } from "./docker.js";
import { ProdlikeError, tailLines } from "../errors.js";
import { silentLogger } from "../logger.js";
import type { CommandResult, ReloadTarget } from "../watch/target.js";

const RENDER_UID = 1000;
/** The app's trust bundle (made by its start command), for commands that reach the TLS links. */
const TRUST = "if [ -f /tmp/prodlike-ca-bundle.crt ]; then export SSL_CERT_FILE=/tmp/prodlike-ca-bundle.crt REQUESTS_CA_BUNDLE=/tmp/prodlike-ca-bundle.crt; fi;";

export interface DockerReloadTargetOptions {
  /** The project directory on the host. */
  readonly dir: string;
  /** The app container's id; a function when redeploys replace the container. */
  readonly container: string | (() => string | undefined);
  /** Where the sources are in the container. Default APP_SOURCE_DIR. */
  readonly appDir?: string;
  /** gunicorn runs with --preload (or preload_app): SIGHUP would not load new code, so restart. */
  readonly preload?: boolean;
  /** How a preload app restarts. Default: restart the same container (keeps the synced files). */
  readonly restart?: () => Promise<void>;
  readonly rebuildAndRedeploy: () => Promise<void>;
  readonly reresolve: () => Promise<void>;
  /** The edge's hold; default runs `fn` directly. */
  readonly hold?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Longest wait for gunicorn to boot new workers after SIGHUP. Default 15 s. */
  readonly reloadTimeoutMs?: number;
  readonly logger?: Logger;
}

/** ReloadTarget on a running app container: putArchive, exec and signals through dockerode. */
export class DockerReloadTarget implements ReloadTarget {
  readonly appDir: string;
  readonly #docker: Docker;
  readonly #options: DockerReloadTargetOptions;
  readonly #log: Logger;

  constructor(docker: Docker, options: DockerReloadTargetOptions) {
    this.#docker = docker;
    this.#options = options;
    this.appDir = options.appDir ?? APP_SOURCE_DIR;
    this.#log = (options.logger ?? silentLogger()).child({ component: "reload", service: "app" });
  }

  async syncFiles(copy: readonly string[], remove: readonly string[]): Promise<void> {
    const container = this.#container();
    const present: string[] = [];
    for (const path of copy) if ((await stat(join(this.#options.dir, path)).catch(() => null))?.isFile()) present.push(path);
    if (present.length > 0) {
      const wanted = new Set(present);
      // New folders arrive with their entries, so they belong to the render user and not root.
      const folders = new Set(present.flatMap((f) => f.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"))));
      const archive = tar.pack(this.#options.dir, {
        ignore: (name) => {
          const rel = relative(this.#options.dir, name).split(sep).join("/");
          return rel !== "" && !wanted.has(rel) && !folders.has(rel);
        },
        map: (header) => ({ ...header, uid: RENDER_UID, gid: RENDER_UID }),
      }) as unknown as NodeJS.ReadableStream;
      await container.putArchive(archive, { path: this.appDir });
    }
    if (remove.length > 0) {
      const result = await this.runInApp(["rm", "-f", "--", ...remove.map((p) => posix.join(this.appDir, p))]);
      if (result.exitCode !== 0) this.#log.warn({ output: result.output }, "could not remove deleted files from the app");
    }
  }

  async reloadGracefully(): Promise<void> {
    const container = this.#container();
    if (this.#options.preload) {
      if (this.#options.restart) await this.#options.restart();
      else await container.restart({ t: 10 });
      return;
    }
    // Fractional seconds: only lines after this signal count.
    const since = Date.now() / 1000;
    const booted = this.#waitForLine(container, since, /Booting worker with pid/);
    await container.kill({ signal: "SIGHUP" });
    await booted;
  }

  async runInApp(cmd: readonly string[], options: { readonly stdin?: string } = {}): Promise<CommandResult> {
    const container = this.#container();
    const withStdin = options.stdin !== undefined;
    const exec = await container.exec({
      Cmd: ["bash", "-c", `${TRUST} exec "$@"`, "prodlike", ...cmd],
      AttachStdin: withStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      WorkingDir: this.appDir,
    });
    const stream = (await exec.start({ hijack: true, stdin: withStdin })) as NodeJS.ReadWriteStream & { destroy(): void };
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => chunks.push(chunk));
    this.#docker.modem.demuxStream(stream, sink, sink);
    const done = new Promise<void>((resolve, reject) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", reject);
    });
    // Half-close: the command sees EOF on stdin and its output still comes back.
    if (withStdin) stream.end(options.stdin);
    await done;
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString("utf8") };
  }

  rebuildAndRedeploy(): Promise<void> {
    return this.#options.rebuildAndRedeploy();
  }

  reresolve(): Promise<void> {
    return this.#options.reresolve();
  }

  hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.#options.hold ? this.#options.hold(fn) : fn();
  }

  #container(): Dockerode.Container {
    const id = typeof this.#options.container === "function" ? this.#options.container() : this.#options.container;
    if (!id) throw new ProdlikeError("RELOAD_FAILED", "the app is not running (asleep or being redeployed); the change is applied with the next one");
    return this.#docker.getContainer(id);
  }

  /**
   * gunicorn logs "Booting worker" as each new worker forks after SIGHUP; the old workers stop
   * once new ones exist. A container that exits meanwhile (a worker that cannot boot halts
   * gunicorn) is an error; a slow boot only a warning.
   */
  async #waitForLine(container: Dockerode.Container, since: number, pattern: RegExp): Promise<void> {
    const timeoutMs = this.#options.reloadTimeoutMs ?? 15_000;
    const stream = (await container.logs({ stdout: true, stderr: true, follow: true, since })) as unknown as NodeJS.ReadableStream & {
      destroy(): void;
    };
    const lines = new PassThrough();
    this.#docker.modem.demuxStream(stream, lines, lines);
    let text = "";
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#log.warn({ timeoutMs }, "gunicorn did not report new workers after SIGHUP; is it gunicorn?");
          resolve();
        }, timeoutMs);
        lines.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
          if (pattern.test(text)) {
            clearTimeout(timer);
            resolve();
          }
        });
        stream.on("end", () => {
          clearTimeout(timer);
          reject(new ProdlikeError("RELOAD_FAILED", `the app stopped while reloading. Its last lines:\n${tailLines(text, 20)}`));
        });
        stream.on("error", () => {});
      });
    } finally {
      stream.destroy();
    }
  }
}
