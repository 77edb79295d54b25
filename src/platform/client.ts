import http from "node:http";
import type { ErrorCode } from "../errors.js";
import { ProdlikeError } from "../errors.js";
import type { ConnectionInfo, LinkInfo, Toxic } from "../links/index.js";
import type { Overlay } from "../engine/put-files.js";
import type { AppLogLine } from "../services/app.js";
import type { EdgeState } from "../edge/index.js";

import type { ControlAccess } from "../state.js";

export type { ControlAccess };

const KNOWN_CODES = new Set<string>(["TOXIC_INVALID", "SERVICE_UNKNOWN", "CONFIG_INVALID", "APP_START_FAILED", "NOT_READY", "LINK_ERROR"]);

/** Call the platform's control API: JSON in and out, its errors as ProdlikeErrors with its message. */
export async function callPlatform(access: ControlAccess, method: string, path: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${access.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${access.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ProdlikeError(
      "STACK_NOT_FOUND",
      `the stack's platform at ${access.url} does not answer (${(err as { cause?: { code?: string } }).cause?.code ?? String(err)}): is the stack still up? \`prodlike status\` shows it`,
      { cause: err },
    );
  }
  if (response.status === 204) return undefined;
  const payload = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) {
    const code = payload.error?.code ?? "";
    const mapped: ErrorCode = KNOWN_CODES.has(code)
      ? (code as ErrorCode)
      : response.status === 400 || response.status === 409
        ? "TOXIC_INVALID"
        : response.status === 404
          ? "SERVICE_UNKNOWN"
          : "INTERNAL";
    throw new ProdlikeError(mapped, payload.error?.message ?? `the platform answered HTTP ${response.status} to ${method} ${path}`);
  }
  return payload;
}

/** One link of a running stack, as the platform has it. */
export class RemoteLink {
  readonly name: string;
  readonly #access: ControlAccess;

  constructor(name: string, access: ControlAccess) {
    this.name = name;
    this.#access = access;
  }

  #path(rest = ""): string {
    return `/links/${encodeURIComponent(this.name)}${rest}`;
  }

  async info(): Promise<LinkInfo & { requests?: number }> {
    return (await callPlatform(this.#access, "GET", this.#path())) as LinkInfo & { requests?: number };
  }

  async toxics(): Promise<Toxic[]> {
    return ((await callPlatform(this.#access, "GET", this.#path("/toxics"))) as { toxics: Toxic[] }).toxics;
  }

  async connections(): Promise<ConnectionInfo[]> {
    return ((await callPlatform(this.#access, "GET", this.#path("/connections"))) as { connections: ConnectionInfo[] }).connections;
  }

  /** Validate and add a toxic; it applies to open connections at once. */
  async addToxic(input: unknown): Promise<Toxic> {
    return (await callPlatform(this.#access, "POST", this.#path("/toxics"), input)) as Toxic;
  }

  async removeToxic(name: string): Promise<void> {
    await callPlatform(this.#access, "DELETE", this.#path(`/toxics/${encodeURIComponent(name)}`));
  }

  /** Back to the profile's toxics (added faults removed). */
  async reset(): Promise<void> {
    await callPlatform(this.#access, "POST", this.#path("/reset"));
  }
}

/** The stack's links ("db", "redis"): the CLI, the library and tests go through the platform. */
export class RemoteLinks {
  readonly #access: ControlAccess;
  readonly #names: readonly string[];

  constructor(access: ControlAccess, names: readonly string[] = ["db", "redis"]) {
    this.#access = access;
    this.#names = names;
  }

  has(name: string): boolean {
    return this.#names.includes(name);
  }

  get(name: string): RemoteLink {
    if (!this.has(name)) throw new ProdlikeError("SERVICE_UNKNOWN", `no link named "${name}": this stack has ${this.#names.join(", ")}`);
    return new RemoteLink(name, this.#access);
  }

  get db(): RemoteLink {
    return this.get("db");
  }

  get redis(): RemoteLink {
    return this.get("redis");
  }

  names(): string[] {
    return [...this.#names];
  }

  async list(): Promise<LinkInfo[]> {
    return ((await callPlatform(this.#access, "GET", "/links")) as { links: LinkInfo[] }).links;
  }

  addToxic(link: string, input: unknown): Promise<Toxic> {
    return this.get(link).addToxic(input);
  }

  removeToxic(link: string, toxic: string): Promise<void> {
    return this.get(link).removeToxic(toxic);
  }

  /** One link, or all of them, back to the profile's toxics. */
  async reset(link?: string): Promise<void> {
    await callPlatform(this.#access, "POST", link === undefined ? "/reset" : `/links/${encodeURIComponent(link)}/reset`);
  }
}

export interface AppStatus {
  readonly containerId: string | null;
  readonly running: boolean;
  readonly starts: number;
  readonly restarts: number;
  readonly oomKills: number;
}

/** The app instance the platform runs: its state, logs, starts and redeploys. */
export class RemoteApp {
  readonly #access: ControlAccess;

  constructor(access: ControlAccess) {
    this.#access = access;
  }

  async status(): Promise<AppStatus> {
    return (await callPlatform(this.#access, "GET", "/app")) as AppStatus;
  }

  /** The container serving now; undefined while asleep or stopped. */
  async containerId(): Promise<string | undefined> {
    return (await this.status()).containerId ?? undefined;
  }

  /** Processes the kernel killed for exceeding the plan's memory. */
  async oomKills(): Promise<number> {
    return (await this.status()).oomKills;
  }

  /** What the app printed since `since` (epoch ms), across every container (wakes, restarts). */
  async logs(options: { since?: number } = {}): Promise<AppLogLine[]> {
    return ((await callPlatform(this.#access, "GET", `/app/logs?since=${options.since ?? 0}`)) as { lines: AppLogLine[] }).lines;
  }

  /** Resolves once everything the app printed before this call is in `logs()`. */
  async flushLogs(): Promise<void> {
    await callPlatform(this.#access, "POST", "/app/flush-logs");
  }

  /** A fresh container (replacing the running one); resolves once it serves. */
  async start(): Promise<void> {
    await callPlatform(this.#access, "POST", "/app/start");
  }

  /** A deploy: a fresh container with these settings, the old one serving until it is ready. */
  async redeploy(changes: { image?: string; env?: Record<string, string>; startCommand?: string; startCommandSource?: string }): Promise<void> {
    await callPlatform(this.#access, "POST", "/app/redeploy", changes);
  }

  async answers(): Promise<boolean> {
    return ((await callPlatform(this.#access, "GET", "/app/answers")) as { answers: boolean }).answers;
  }

  async statusOf(path: string): Promise<number | null> {
    return ((await callPlatform(this.#access, "GET", `/app/status?path=${encodeURIComponent(path)}`)) as { status: number | null }).status;
  }

  /** The files every fresh container of `image` gets (what watch reloaded since it was built). */
  async setOverlay(image: string, overlay: Overlay): Promise<void> {
    const files = overlay.files.map((file) => ({ path: file.path, data: file.data.toString("base64"), mode: file.mode, mtime: file.mtime }));
    await callPlatform(this.#access, "PUT", "/app/overlay", { image, files, removed: overlay.removed });
  }
}

/** The rest of the platform: the edge's state, sleep, wake and hold, the clock, the first deploy, ownership. */
export class PlatformClient {
  readonly access: ControlAccess;
  readonly links: RemoteLinks;
  readonly app: RemoteApp;

  constructor(access: ControlAccess) {
    this.access = access;
    this.links = new RemoteLinks(access);
    this.app = new RemoteApp(access);
  }

  async deploy(image: string): Promise<void> {
    await callPlatform(this.access, "POST", "/deploy", { image });
  }

  async edgeState(): Promise<EdgeState | "deploying"> {
    return ((await callPlatform(this.access, "GET", "/edge")) as { state: EdgeState }).state;
  }

  async sleep(): Promise<void> {
    await callPlatform(this.access, "POST", "/edge/sleep");
  }

  async wake(): Promise<void> {
    await callPlatform(this.access, "POST", "/edge/wake");
  }

  async advance(ms: number): Promise<void> {
    await callPlatform(this.access, "POST", "/clock/advance", { ms });
  }

  /** Hold requests at the edge while `fn` reloads the app; a failing `fn` leaves the previous version routed. */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    const { id } = (await callPlatform(this.access, "POST", "/edge/hold")) as { id: string };
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await callPlatform(this.access, "DELETE", `/edge/hold/${id}`, { ok: false, error: err instanceof Error ? err.message : String(err) }).catch(() => {});
      throw err;
    }
    await callPlatform(this.access, "DELETE", `/edge/hold/${id}`, { ok: true });
    return result;
  }

  /**
   * Own the stack: a connection held open to GET /owner. When this process dies, the kernel
   * closes it and the platform removes the stack within seconds. Returns the release function.
   */
  own(): Promise<() => void> {
    const url = new URL("/owner", this.access.url);
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers: { authorization: `Bearer ${this.access.token}` }, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new ProdlikeError("INTERNAL", `the platform refused the owner connection (HTTP ${res.statusCode})`));
          return;
        }
        res.on("data", () => {});
        res.on("error", () => {});
        // The connection must not keep this process alive: its death is what it reports.
        res.socket.unref();
        resolve(() => req.destroy());
      });
      req.on("error", reject);
    });
  }
}
