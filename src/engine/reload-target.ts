// The reloader's target on the real engine: the app container, through dockerode.
import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { APP_SOURCE_DIR } from "./app-build.js";
import type { Docker } from "./docker.js";
import { ProdlikeError, tailLines } from "../errors.js";
import { silentLogger } from "../logger.js";
import { applyFiles, restoreFiles, type ApplyResult, type SyncFile } from "../watch/apply-files.js";
import type { CommandResult, ReloadTarget } from "../watch/target.js";

/** The app's trust bundle (made by its start command), for commands that reach the TLS links. */
const TRUST = "if [ -f /tmp/prodlike-ca-bundle.crt ]; then export SSL_CERT_FILE=/tmp/prodlike-ca-bundle.crt REQUESTS_CA_BUNDLE=/tmp/prodlike-ca-bundle.crt; fi;";

/** A path no app routes: Django answers it 404 once its URLconf, views and middleware import. */
const LOAD_CHECK_PATH = "/prodlike-reload-check/";

/** The load check's request, made in the app's Python with Django's test client: the exception comes out whole. */
function explainScript(host: string): string {
  return [
    "import traceback",
    "from django.test import Client",
    "try:",
    `    Client(raise_request_exception=True).get(${JSON.stringify(LOAD_CHECK_PATH)}, HTTP_HOST=${JSON.stringify(host)}, secure=True)`,
    "except Exception:",
    "    traceback.print_exc()",
  ].join("\n");
}

export interface DockerReloadTargetOptions {
  /** The project directory on the host. */
  readonly dir: string;
  /** The app container's id; a function when redeploys replace the container. */
  readonly container: string | (() => string | undefined | Promise<string | undefined>);
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
  /** Whether the app answers HTTP (any status): new workers loaded the code. */
  readonly probe?: () => Promise<boolean>;
  /** The status the app answers for a path (asked directly, with the public Host); null: no answer. */
  readonly status?: (path: string) => Promise<number | null>;
  /** The Host the app is asked with when a load failure is explained in-process. */
  readonly publicHost?: string;
  /** Bring the app back (a fresh container of the last good version) after a reload took it down. */
  readonly recover?: () => Promise<void>;
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

  applyFiles(files: readonly SyncFile[], remove: readonly string[], options: { readonly check: boolean }): Promise<ApplyResult> {
    return applyFiles((cmd, run) => this.runInApp(cmd, run), files, remove, options);
  }

  async codeLoads(): Promise<boolean | null> {
    if (!this.#options.status) return null;
    const status = await this.#options.status(LOAD_CHECK_PATH);
    return status === null ? null : status < 500;
  }

  async explainLoadFailure(): Promise<string> {
    const result = await this.runInApp(["python", "manage.py", "shell", "-c", explainScript(this.#options.publicHost ?? "localhost")]);
    return result.output;
  }

  restoreFiles(): Promise<void> {
    return restoreFiles((cmd) => this.runInApp(cmd));
  }

  async reloadGracefully(): Promise<void> {
    const container = await this.#container();
    if (this.#options.preload) {
      if (this.#options.restart) await this.#options.restart();
      else await container.restart({ t: 10 });
      return;
    }
    const signalledAt = Date.now();
    const logs = await LogWatch.open(this.#docker, container, signalledAt);
    try {
      await container.kill({ signal: "SIGHUP" });
      const timeoutMs = this.#options.reloadTimeoutMs ?? 15_000;
      const booted = await logs.waitFor(/Booting worker with pid/, timeoutMs);
      if (!booted) {
        this.#log.warn({ timeoutMs }, "gunicorn did not report new workers after SIGHUP; is it gunicorn?");
        return;
      }
      // "Booting worker" comes at the fork; the code loads after it. An answer means it loaded.
      const probe = this.#options.probe;
      if (probe && !(await logs.raceWithExit(untilTrue(probe, timeoutMs)))) {
        this.#log.warn({ timeoutMs }, "the app did not answer after the reload; it may still be loading");
      }
    } catch (err) {
      if (this.#options.recover) {
        this.#log.warn("the app stopped during the reload: starting the last good version again");
        await this.#options.recover().catch((e: unknown) => this.#log.error({ err: e instanceof Error ? e.message : String(e) }, "could not start the last good version"));
      }
      throw err;
    } finally {
      logs.close();
    }
  }

  async runInApp(cmd: readonly string[], options: { readonly stdin?: string } = {}): Promise<CommandResult> {
    const container = await this.#container();
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

  async #container(): Promise<Dockerode.Container> {
    const id = typeof this.#options.container === "function" ? await this.#options.container() : this.#options.container;
    if (!id) throw new ProdlikeError("RELOAD_FAILED", "the app is not running (asleep or being redeployed); the change is applied with the next one");
    return this.#docker.getContainer(id);
  }
}

/**
 * The app container's log lines from `since` (epoch ms) on. Docker's `since` is whole seconds,
 * so lines carry timestamps and earlier ones (a reload a moment ago) are dropped here.
 */
class LogWatch {
  #text = "";
  readonly #waiters = new Set<() => void>();
  readonly #ended: Promise<never>;

  private constructor(private readonly stream: NodeJS.ReadableStream & { destroy(): void }) {
    this.#ended = new Promise<never>((_, reject) => {
      stream.on("end", () => reject(new ProdlikeError("RELOAD_FAILED", `the app stopped while reloading. Its last lines:\n${tailLines(this.#text, 30)}`)));
    });
    this.#ended.catch(() => {});
  }

  static async open(docker: Docker, container: Dockerode.Container, since: number): Promise<LogWatch> {
    const stream = (await container.logs({ stdout: true, stderr: true, follow: true, timestamps: true, since: Math.floor(since / 1000) })) as unknown as NodeJS.ReadableStream & {
      destroy(): void;
    };
    const watch = new LogWatch(stream);
    const lines = new PassThrough();
    docker.modem.demuxStream(stream, lines, lines);
    let rest = "";
    lines.on("data", (chunk: Buffer) => {
      const parts = (rest + chunk.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        const stamp = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z /.exec(line);
        const at = stamp ? Date.parse(`${stamp[1]}${(stamp[2] ?? ".0").slice(0, 4)}Z`) : since;
        if (at >= since) watch.#text += `${stamp ? line.slice(stamp[0].length) : line}\n`;
      }
      for (const wake of watch.#waiters) wake();
    });
    stream.on("error", () => {});
    return watch;
  }

  /** Resolves true once a line matches, false after `timeoutMs`; rejects if the container stops first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    if (pattern.test(this.#text)) return Promise.resolve(true);
    let wake = () => {};
    let timer: NodeJS.Timeout | undefined;
    const matched = new Promise<boolean>((resolve) => {
      wake = () => {
        if (pattern.test(this.#text)) resolve(true);
      };
      this.#waiters.add(wake);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return Promise.race([matched, this.#ended]).finally(() => {
      this.#waiters.delete(wake);
      clearTimeout(timer);
    });
  }

  /** `work`, unless the container stops first (then the error carries its last lines). */
  raceWithExit<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.#ended]);
  }

  close(): void {
    this.stream.destroy();
  }
}

/** Poll `check` until it is true; false after `timeoutMs`. */
async function untilTrue(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}
