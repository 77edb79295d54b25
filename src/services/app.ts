import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import type { PlanLimits } from "../config/types.js";
import { containerAddress, createContainer, followLogs, waitReady } from "../engine/containers.js";
import type { Docker } from "../engine/docker.js";
import { execCapture } from "../engine/exec.js";
import { runOneOff } from "../engine/one-off.js";
import { containerName, LABEL_RESTARTS, networkName } from "../engine/labels.js";
import { REMOVE_LISTED } from "../engine/put-files.js";
import { APP_CA_FILE, APP_SOURCE_DIR } from "../engine/app-build.js";
import { APP_PORT } from "./app-env.js";
import { raisedAt } from "../watch/failure-location.js";

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
  /** Apply the plan's CPU share (PRODLIKE_CPU_LIMITS=off on the host turns it off). Default true. */
  readonly cpuLimits?: boolean;
  /** The plan's name, for the warning when its memory is exceeded. */
  readonly plan?: string;
  /** Start a fresh container when one dies, as Render restarts a crashed instance. Default true. */
  readonly restartOnExit?: boolean;
  /** Called on every new container after it is created and before it starts (files to put in it). */
  readonly prepare?: (container: Dockerode.Container, image: string) => Promise<void>;
  readonly logger: Logger;
}

/** On each app container: how many restarts came before it (`prodlike status` reads it). */
export { LABEL_RESTARTS };

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

/** gunicorn's arbiter, when the kernel kills a worker: "Worker (pid:N) was sent SIGKILL! Perhaps out of memory?". */
const WORKER_OOM = /Worker \(pid:(\d+)\) was sent SIGKILL! Perhaps out of memory\?/;

export function parseWorkerOom(line: string): number | undefined {
  const match = WORKER_OOM.exec(line);
  return match ? Number(match[1]) : undefined;
}

/**
 * gunicorn's arbiter, before it kills a worker stuck past `--timeout`: "WORKER TIMEOUT (pid:N)".
 * The same "was sent SIGKILL! Perhaps out of memory?" line follows that kill, so it is no OOM.
 */
const WORKER_TIMEOUT = /WORKER TIMEOUT \(pid:(\d+)\)/;

export function parseWorkerTimeout(line: string): number | undefined {
  const match = WORKER_TIMEOUT.exec(line);
  return match ? Number(match[1]) : undefined;
}

/**
 * Reads the arbiter's lines in order and says which SIGKILL lines mean the kernel's OOM killer:
 * those not preceded by a WORKER TIMEOUT of the same pid.
 */
export class WorkerKills {
  readonly #timedOut = new Set<number>();

  /** The pid the kernel killed, when this line says so. */
  oomKilled(line: string): number | undefined {
    const timedOut = parseWorkerTimeout(line);
    if (timedOut !== undefined) {
      this.#timedOut.add(timedOut);
      return undefined;
    }
    const pid = parseWorkerOom(line);
    if (pid === undefined) return undefined;
    return this.#timedOut.delete(pid) ? undefined : pid;
  }
}

/** How long the kernel's OOM event and gunicorn's line about it count as one incident. */
const OOM_PAIRING_MS = 2_000;
const RESTART_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000] as const;
/** What flushLogs() writes to the app's output; such lines are not the app's and are dropped. */
const LOG_MARK = "prodlike-log-mark-";
/** Lines of app output kept in memory across containers (wakes and restarts replace them). */
const JOURNAL_LINES = 5_000;

/** One line the app printed, with when (epoch ms) and which container. */
export interface AppLogLine {
  readonly at: number;
  readonly container: string;
  readonly line: string;
}

/**
 * The app's web process. Every start is a fresh container from the built image: the disk is
 * ephemeral, as on Render. A container that dies is replaced by a fresh one (Render restarts
 * crashed instances); a worker the kernel kills for memory is reported as the plan's limit.
 */
export class AppInstance {
  readonly #docker: Docker;
  #options: AppInstanceOptions;
  readonly #log: Logger;
  #container: Dockerode.Container | undefined;
  /** The container that passed its readiness check: only its death is a crash. */
  #ready: Dockerode.Container | undefined;
  /** Where the running container serves, on the stack network. */
  #target: { host: string; port: number } | undefined;
  /**
   * One address object for the instance's lifetime, its port read live: after a crash restart
   * the edge's routed address points at the fresh container (Render routes to the service).
   */
  readonly #address: AppAddress;
  #unwatch: (() => void)[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #recovering: Promise<AppAddress> | undefined;
  /** Bumped by `stop()`: a crash restart of an older generation gives up. */
  #generation = 0;
  #starts = 0;
  #restarts = 0;
  #oomKills = 0;
  /** OOM incidents reported for the current container. */
  #containerOoms = 0;
  #kernelOom: NodeJS.Timeout | undefined;
  #lastWorkerOomAt = -Infinity;
  readonly #journal: AppLogLine[] = [];
  /** flushLogs() markers waiting to come back through the log stream. */
  readonly #marks = new Map<string, () => void>();
  readonly #lineListeners = new Set<(line: AppLogLine) => void>();

  constructor(docker: Docker, options: AppInstanceOptions) {
    this.#docker = docker;
    this.#options = options;
    this.#log = options.logger.child({ service: "app" });
    const instance = this;
    this.#address = {
      get host() {
        return instance.#target?.host ?? "127.0.0.1";
      },
      get port() {
        return instance.#target?.port ?? 0;
      },
    };
  }

  /** Where the instance listens; undefined when none runs (never started, or stopped). */
  get address(): AppAddress | undefined {
    return this.#target === undefined ? undefined : this.#address;
  }

  get containerId(): string | undefined {
    return this.#container?.id;
  }

  /** Containers started: the deploy, then every wake and restart. */
  get starts(): number {
    return this.#starts;
  }

  /** Instances replaced while they were running: crashes and failed health checks (not wakes). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Processes the kernel killed for exceeding the plan's memory. */
  get oomKills(): number {
    return this.#oomKills;
  }

  /**
   * What the app printed since `since` (epoch ms), across every container of this instance:
   * a crash or a wake replaces the container, and the evidence is usually in the old one.
   */
  logs(options: { since?: number } = {}): AppLogLine[] {
    const since = options.since ?? 0;
    return this.#journal.filter((entry) => entry.at >= since);
  }

  /**
   * Resolves once everything the app printed before this call is in `logs()`: a marker written
   * to the stdout and stderr of its main process comes back through Docker's log stream, after
   * the lines before it (and is left out of the logs). At most `timeoutMs`; at once when no
   * container runs.
   */
  async flushLogs(timeoutMs = 3_000): Promise<void> {
    const container = this.#ready;
    if (!container) return;
    const mark = `${LOG_MARK}${randomUUID()}`;
    let pending = 2; // stdout and stderr
    const seen = new Promise<void>((resolve) => {
      this.#marks.set(mark, () => {
        if (--pending === 0) resolve();
      });
    });
    try {
      const wrote = execCapture(this.#docker, container.id, ["sh", "-c", `echo ${mark} > /proc/1/fd/1 && echo ${mark} > /proc/1/fd/2`]).then(
        (result) => result.exitCode === 0,
        () => false,
      );
      // A marker that could not be written will not come back: then there is nothing to wait for.
      await Promise.race([wrote.then((ok) => (ok ? seen : undefined)), delay(timeoutMs, undefined, { ref: false })]);
    } finally {
      this.#marks.delete(mark);
    }
  }

  #markSeen(line: string): void {
    this.#marks.get(line.trim())?.();
  }

  /** Call `listener` for every new line; returns the unsubscribe function. */
  onLine(listener: (line: AppLogLine) => void): () => void {
    this.#lineListeners.add(listener);
    return () => this.#lineListeners.delete(listener);
  }

  /** Start a fresh container (replacing the running one, if any); resolves once it serves. */
  start(): Promise<AppAddress> {
    // A crash restart in flight is already the fresh instance a caller asks for.
    if (this.#recovering) return this.#recovering;
    return this.#enqueue(() => this.#startNow());
  }

  /**
   * A deploy (watch: rebuilt image, changed env or start command): a fresh container with the
   * new settings, not counted as a restart. Every later wake and restart uses them too.
   */
  redeploy(changes: Partial<Pick<AppInstanceOptions, "image" | "env" | "startCommand" | "startCommandSource">>): Promise<AppAddress> {
    return this.#enqueue(async () => {
      const before = this.#options;
      this.#options = { ...this.#options, ...changes };
      try {
        return await this.#swap();
      } catch (err) {
        // The new version did not come up: the old one keeps serving, with its settings.
        this.#options = before;
        throw err;
      }
    });
  }

  /** Stop and remove the container (spin-down, down). A crash restart in flight gives up. */
  async stop(): Promise<void> {
    this.#generation++;
    this.#recovering = undefined;
    this.#target = undefined;
    await this.#retire();
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Replace the running container by a fresh one: the old one is gone before the new one starts. */
  async #startNow(): Promise<AppAddress> {
    const generation = this.#generation;
    if (this.#container) this.#restarts++;
    await this.#retire();
    const { container, target } = await this.#boot(containerName(this.#options.project, "app"), generation);
    this.#container = container;
    this.#ready = container;
    this.#target = target;
    return this.#address;
  }

  /**
   * A deploy as Render does it: the new container boots next to the old one, which serves
   * until the new one is ready; then traffic moves and the old one stops. If the new one
   * fails, the old one was never touched.
   */
  async #swap(): Promise<AppAddress> {
    const generation = this.#generation;
    const old = { container: this.#container, unwatch: this.#unwatch.splice(0) };
    const name = containerName(this.#options.project, "app");
    let booted: { container: Dockerode.Container; target: { host: string; port: number } };
    try {
      booted = await this.#boot(`${name}-next`, generation);
    } catch (err) {
      for (const unwatch of this.#unwatch.splice(0)) unwatch();
      this.#unwatch = old.unwatch;
      throw err;
    }
    this.#container = booted.container;
    this.#ready = booted.container;
    this.#target = booted.target;
    for (const unwatch of old.unwatch) unwatch();
    // SIGTERM first: gunicorn finishes the requests it has, as on Render.
    await old.container?.stop({ t: 10 }).catch(() => {});
    await old.container?.remove({ force: true }).catch(() => {});
    await booted.container.rename({ name }).catch((err: unknown) => this.#log.debug({ err }, "could not rename the new app container"));
    return this.#address;
  }

  /** Create, start and wait for one container; it is removed again if it does not come up. */
  async #boot(name: string, generation: number): Promise<{ container: Dockerode.Container; target: { host: string; port: number } }> {
    const { limits } = this.#options;
    const container = await createContainer(this.#docker, {
      project: this.#options.project,
      service: "app",
      name,
      image: this.#options.image,
      labels: { ...this.#options.labels, [LABEL_RESTARTS]: String(this.#restarts) },
      env: { ...this.#options.env, ...this.#options.perInstance() },
      cmd: ["bash", "-c", `${REMOVE_LISTED} ${TRUST_PREFIX} exec ${this.#options.startCommand}`],
      workingDir: APP_SOURCE_DIR,
      alias: "app",
      memoryMb: limits.memoryMb,
      cpus: this.#options.cpuLimits === false ? undefined : limits.cpus,
    });
    this.#containerOoms = 0;
    this.#starts++;
    try {
      await this.#options.prepare?.(container, this.#options.image);
      // Events before start, so an OOM or an exit during the boot is not missed.
      this.#unwatch.push(await this.#watchEvents(container));
      // Follow after start (a follow on a created container ends at once); it replays from the start.
      await container.start();
      const kills = new WorkerKills();
      this.#unwatch.push(
        await followLogs(this.#docker, container, (line) => {
          if (line.startsWith(LOG_MARK)) return this.#markSeen(line);
          this.#log.info(line);
          this.#record(container.id, line);
          const pid = kills.oomKilled(line);
          if (pid !== undefined) this.#workerOom(pid);
        }),
      );
      // Reached on the stack network, where the platform runs: no published port.
      let target: { host: string; port: number } | undefined;
      const started = performance.now();
      await waitReady(container, {
        what: this.#options.healthCheckPath
          ? `GET ${this.#options.healthCheckPath} answering 2xx/3xx on port ${APP_PORT}`
          : `an HTTP answer on port ${APP_PORT}`,
        timeoutMs: this.#options.bootTimeoutMs ?? 180_000,
        probe: async () => this.#probe((target ??= { host: await containerAddress(container, networkName(this.#options.project)), port: APP_PORT })),
        hint: (logs) => bootHint(logs, this.#options.startCommand, this.#options.startCommandSource),
      });
      if (generation !== this.#generation) throw new Error("the app instance was stopped while it was starting");
      const bootMs = Math.round(performance.now() - started);
      this.#log.info(
        { seconds: (bootMs / 1000).toFixed(1), bootMs, container: container.id.slice(0, 12), restarts: this.#restarts },
        "app is up",
      );
      return { container, target: target! };
    } catch (err) {
      await container.remove({ force: true }).catch(() => {});
      throw await this.#withSettingsLocation(err, name);
    }
  }

  /**
   * gunicorn may print only "Error: <message>" when the app cannot be imported: without a
   * traceback the file and line are lost. For such a boot failure, `manage.py check` in a
   * one-off container of the same image and env imports the settings again and prints the
   * traceback, from which the app's own file and line are taken.
   */
  async #withSettingsLocation(err: unknown, name: string): Promise<unknown> {
    if (!(err instanceof Error) || !/ exited \(code /.test(err.message) || raisedAt(err.message, APP_SOURCE_DIR)) return err;
    try {
      const { exitCode, output, container } = await runOneOff(
        this.#docker,
        {
          project: this.#options.project,
          service: "app-check",
          name: `${name}-check`,
          image: this.#options.image,
          labels: this.#options.labels,
          env: { ...this.#options.env, ...this.#options.perInstance() },
          cmd: ["bash", "-c", `${TRUST_PREFIX} test -f manage.py && exec python manage.py check`],
          workingDir: APP_SOURCE_DIR,
        },
        this.#log.child({ diagnosis: "manage.py check" }),
      );
      await container.remove({ force: true }).catch((removeErr: unknown) => this.#log.debug({ err: removeErr }, "could not remove the check container"));
      const where = exitCode === 0 ? undefined : raisedAt(output, APP_SOURCE_DIR);
      if (where) err.message += `\n${where} (from \`python manage.py check\` with the same image and env).`;
    } catch (checkErr) {
      this.#log.debug({ err: checkErr }, "could not run manage.py check to locate the failure");
    }
    return err;
  }

  #record(containerId: string, line: string): void {
    const entry = { at: Date.now(), container: containerId.slice(0, 12), line };
    this.#journal.push(entry);
    if (this.#journal.length > JOURNAL_LINES) this.#journal.splice(0, this.#journal.length - JOURNAL_LINES);
    for (const listener of this.#lineListeners) listener(entry);
  }

  /** Remove the current container; its exit is not a crash. */
  async #retire(): Promise<void> {
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    const container = this.#container;
    this.#container = undefined;
    this.#ready = undefined;
    if (container) await container.remove({ force: true }).catch(() => {});
  }

  /** The engine's `oom` and `die` events of one container. */
  async #watchEvents(container: Dockerode.Container): Promise<() => void> {
    const abort = new AbortController();
    const stream = (await this.#docker.getEvents({
      filters: { container: [container.id], type: ["container"], event: ["oom", "die", "died"] },
      abortSignal: abort.signal,
    })) as NodeJS.ReadableStream;
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        let action: string | undefined;
        try {
          const event = JSON.parse(line) as { Action?: string; status?: string };
          action = event.Action ?? event.status;
        } catch {
          continue; // not an event (a blank keep-alive line)
        }
        if (action === "oom") this.#kernelOomEvent();
        else if (action === "die") void this.#died(container);
      }
    });
    stream.on("error", () => {});
    return () => abort.abort();
  }

  /** The kernel killed a process of the container; gunicorn's own line usually follows. */
  #kernelOomEvent(): void {
    if (performance.now() - this.#lastWorkerOomAt < OOM_PAIRING_MS) return; // already reported
    clearTimeout(this.#kernelOom);
    this.#kernelOom = setTimeout(() => {
      this.#kernelOom = undefined;
      this.#reportOom({ source: "kernel" }, "the kernel killed a process in the app container");
    }, OOM_PAIRING_MS);
    this.#kernelOom.unref();
  }

  #workerOom(pid: number): void {
    clearTimeout(this.#kernelOom);
    this.#kernelOom = undefined;
    this.#lastWorkerOomAt = performance.now();
    this.#reportOom({ source: "gunicorn", pid }, `gunicorn's worker (pid ${pid}) was killed ("Perhaps out of memory?")`);
  }

  #reportOom(fields: Record<string, unknown>, what: string): void {
    this.#oomKills++;
    this.#containerOoms++;
    const { memoryMb } = this.#options.limits;
    const plan = this.#options.plan ? `the ${this.#options.plan} plan's` : "the plan's";
    this.#log.warn(
      { ...fields, memoryMb, plan: this.#options.plan, oomKills: this.#oomKills },
      `${plan} memory (${memoryMb} MB) was exceeded: ${what}. Use less memory per request (or fewer workers), or choose a bigger plan.`,
    );
  }

  /** A container that had been serving exited on its own: replace it, as Render does. */
  async #died(container: Dockerode.Container): Promise<void> {
    if (this.#ready !== container || this.#container !== container) return; // removed on purpose, or still booting
    this.#ready = undefined;
    const state = (await container.inspect().catch(() => null))?.State;
    // OOMKilled stays true once any process of the container was killed: report it only if nothing did yet.
    if (state?.OOMKilled && this.#containerOoms === 0 && !this.#kernelOom) {
      this.#reportOom({ source: "container", exitCode: state.ExitCode }, "the container's main process was killed");
    }
    const restart = this.#options.restartOnExit ?? true;
    this.#log.warn(
      { exitCode: state?.ExitCode ?? null, oomKilled: state?.OOMKilled ?? false, container: container.id.slice(0, 12) },
      restart ? "the app instance exited: starting a fresh one, as Render restarts a crashed instance" : "the app instance exited",
    );
    if (!restart || this.#recovering) return;
    const recovering = this.#recover(this.#generation).finally(() => {
      if (this.#recovering === recovering) this.#recovering = undefined;
    });
    this.#recovering = recovering;
    recovering.catch((err: Error) => this.#log.debug({ err: err.message }, "crash restart abandoned"));
  }

  async #recover(generation: number): Promise<AppAddress> {
    for (let attempt = 0; ; attempt++) {
      if (generation !== this.#generation) throw new Error("the app instance was stopped");
      try {
        return await this.#enqueue(() => this.#startNow());
      } catch (err) {
        if (generation !== this.#generation) throw err;
        const wait = RESTART_BACKOFF_MS[Math.min(attempt, RESTART_BACKOFF_MS.length - 1)]!;
        this.#log.error({ err: err instanceof Error ? err.message : String(err), retryInMs: wait }, "the restarted app instance did not come up");
        await delay(wait, undefined, { ref: false });
      }
    }
  }

  /** Whether the running instance answers HTTP at all (any status: its workers have booted). */
  answers(): Promise<boolean> {
    return this.#target === undefined ? Promise.resolve(false) : this.#probe(this.#target, false);
  }

  /**
   * The status the running instance answers for `path`, asked directly (not through the edge)
   * with the public Host and Render's https header; null when it does not answer.
   */
  statusOf(path: string): Promise<number | null> {
    return this.#target === undefined ? Promise.resolve(null) : this.#status(this.#target, path);
  }

  /** Any HTTP answer means gunicorn serves; with a health path, it must be 2xx/3xx. */
  async #probe(target: { host: string; port: number }, strict = this.#options.healthCheckPath !== null): Promise<boolean> {
    const status = await this.#status(target, this.#options.healthCheckPath ?? "/");
    return status !== null && (!strict || (status >= 200 && status < 400));
  }

  #status(target: { host: string; port: number }, path: string): Promise<number | null> {
    return new Promise((resolve) => {
      const req = request(
        { host: target.host, port: target.port, path, timeout: 5000, headers: { host: this.#options.publicHost, "x-forwarded-proto": "https" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? null);
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(null));
      req.end();
    });
  }
}

export function bootHint(logs: string, command: string, source: string): string | undefined {
  const hint = specificBootHint(logs, command, source);
  const where = raisedAt(logs, APP_SOURCE_DIR);
  if (!where) return hint;
  return hint ? `${where}\n${hint}` : `${where}: fix it there and run up again.`;
}

function specificBootHint(logs: string, command: string, source: string): string | undefined {
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
