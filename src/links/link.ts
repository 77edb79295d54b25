import net from "node:net";
import type { Clock, Timer } from "../clock.js";
import { ProdlikeError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { LinkConnection, type ConnectionInfo } from "./connection.js";
import { parseToxic } from "./parse-toxic.js";
import type { Toxic } from "./toxic.js";
import { TOXIC_TYPES, type LinkKind } from "./toxic-types.js";

export interface Endpoint {
  host: string;
  port: number;
}

export interface LinkOptions {
  /** "db", "redis": names the link in the control API and in logs. */
  name: string;
  /** Where to listen; binds only there. Default 127.0.0.1, port 0 (any free port). */
  host?: string;
  port?: number;
  upstream: Endpoint;
  clock: Clock;
  logger?: Logger;
  /** Toxics to start with (validated like `addToxic`). */
  toxics?: unknown[];
  /** For toxicity draws and jitter; tests pass a fixed one. */
  random?: () => number;
}

export interface LinkInfo {
  name: string;
  kind: LinkKind;
  listen: Endpoint;
  upstream: Endpoint;
  toxics: Toxic[];
  connections: ConnectionInfo[];
}

/**
 * A TCP link in the prodlike process: a listener that forwards each client connection to the
 * upstream service through toxic chains. Subclasses speak a protocol at the opening (TLS,
 * Postgres startup) and act on protocol-level toxics.
 */
export class Link {
  readonly kind: LinkKind = "tcp";
  readonly name: string;
  protected readonly clock: Clock;
  protected readonly logger: Logger;
  protected readonly random: () => number;
  readonly #host: string;
  #port: number;
  #upstream: Endpoint;
  readonly #server: net.Server;
  readonly #connections = new Map<number, LinkConnection>();
  readonly #toxics = new Map<string, Toxic>();
  readonly #initialToxics: unknown[];
  #nextId = 1;
  #listening = false;
  #stopping: Promise<void> | undefined;

  constructor(options: LinkOptions) {
    this.name = options.name;
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? 0;
    this.#upstream = { ...options.upstream };
    this.clock = options.clock;
    this.logger = (options.logger ?? silentLogger()).child({ component: "link", link: options.name });
    this.random = options.random ?? Math.random;
    this.#initialToxics = options.toxics ?? [];
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
    this.#server.on("error", (err) => this.logger.error({ err }, "listener error"));
  }

  async start(): Promise<this> {
    for (const toxic of this.#initialToxics) this.addToxic(toxic);
    if (!this.toxics().some((t) => t.type === "down")) await this.#listen();
    return this;
  }

  get host(): string {
    return this.#host;
  }

  /** The bound port (the chosen one when 0 was asked for), once started. */
  get port(): number {
    return this.#port;
  }

  get upstream(): Endpoint {
    return { ...this.#upstream };
  }

  /** Point new connections at another upstream (a restarted container); open ones stay. */
  setUpstream(upstream: Endpoint): void {
    this.#upstream = { ...upstream };
  }

  info(): LinkInfo {
    return {
      name: this.name,
      kind: this.kind,
      listen: { host: this.#host, port: this.#port },
      upstream: this.upstream,
      toxics: this.toxics(),
      connections: this.connections(),
    };
  }

  toxics(): Toxic[] {
    return [...this.#toxics.values()];
  }

  connections(): ConnectionInfo[] {
    return [...this.#connections.values()].map((conn) => conn.info());
  }

  /** Validate and add a toxic; it applies to open connections at once. */
  addToxic(input: unknown): Toxic {
    const toxic = parseToxic(input, this.kind);
    if (this.#toxics.has(toxic.name)) {
      throw new ProdlikeError(
        "TOXIC_INVALID",
        `link "${this.name}" already has a toxic named "${toxic.name}": remove it first or give the new one another name`,
      );
    }
    this.#toxics.set(toxic.name, toxic);
    this.logger.info({ toxic }, "toxic added");
    const create = TOXIC_TYPES[toxic.type]!.create;
    for (const conn of this.#connections.values()) {
      if (create && this.applies(conn, toxic)) conn.chains[toxic.stream].add(toxic.name, create(toxic.attributes));
      if (toxic.type === "idle_drop") this.#armIdle(conn, toxic);
    }
    if (toxic.type === "down") void this.#goDown();
    this.toxicAdded(toxic);
    return toxic;
  }

  async removeToxic(name: string): Promise<void> {
    const toxic = this.#toxics.get(name);
    if (!toxic) {
      const names = [...this.#toxics.keys()];
      throw new ProdlikeError(
        "TOXIC_INVALID",
        `link "${this.name}" has no toxic named "${name}"; ${names.length ? `it has ${names.join(", ")}` : "it has none"}`,
      );
    }
    this.#toxics.delete(name);
    this.logger.info({ toxic: name }, "toxic removed");
    const removals: Promise<void>[] = [];
    for (const conn of this.#connections.values()) {
      removals.push(conn.chains[toxic.stream].remove(name));
      (conn.data.get(`idle:${name}`) as Timer | undefined)?.cancel();
    }
    this.toxicRemoved(toxic);
    if (toxic.type === "down" && !this.toxics().some((t) => t.type === "down") && !this.#stopping) await this.#listen();
    await Promise.all(removals);
  }

  /**
   * Back to production: every toxic added since the start goes, the profile's own (the pooler's
   * idle drop, Neon's suspend) are put back as they were configured.
   */
  async reset(): Promise<void> {
    for (const name of [...this.#toxics.keys()]) await this.removeToxic(name);
    for (const toxic of this.#initialToxics) this.addToxic(toxic);
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => (this.#listening ? this.#server.close(() => resolve()) : resolve()));
      const open = [...this.#connections.values()];
      for (const conn of open) conn.destroy();
      await Promise.all([closed, ...open.map((conn) => conn.closed)]);
      for (const toxic of this.#toxics.values()) this.toxicRemoved(toxic);
      this.#listening = false;
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---- for protocol subclasses ----

  /** Take a new client connection through its opening and start forwarding. */
  protected async handle(conn: LinkConnection): Promise<void> {
    const upstream = await this.connectUpstream();
    conn.forward(conn.raw, upstream);
  }

  protected toxicAdded(_toxic: Toxic): void {}
  protected toxicRemoved(_toxic: Toxic): void {}

  /** Close an idle connection; protocols may say why first. */
  protected dropIdle(conn: LinkConnection, toxic: Toxic): void {
    conn.close({ closeNotify: toxic.attributes.close_notify !== false });
  }

  protected openConnections(): LinkConnection[] {
    return [...this.#connections.values()].filter((conn) => !conn.finished);
  }

  /** The first toxic of this type that applies to the connection (toxicity drawn once). */
  protected activeToxic(type: string, conn?: LinkConnection): Toxic | undefined {
    for (const toxic of this.#toxics.values()) {
      if (toxic.type === type && (!conn || this.applies(conn, toxic))) return toxic;
    }
    return undefined;
  }

  /** A toxic beyond whose `limit` this connection falls, if any. */
  protected overConnectionLimit(conn: LinkConnection): Toxic | undefined {
    const toxic = this.activeToxic("max_connections", conn);
    if (!toxic) return undefined;
    const others = this.openConnections().filter((c) => c !== conn && c.state !== "closing").length;
    return others >= (toxic.attributes.limit as number) ? toxic : undefined;
  }

  protected applies(conn: LinkConnection, toxic: Toxic): boolean {
    const key = `applies:${toxic.name}`;
    let applies = conn.data.get(key) as boolean | undefined;
    if (applies === undefined) {
      applies = toxic.toxicity >= 1 || this.random() < toxic.toxicity;
      conn.data.set(key, applies);
    }
    return applies;
  }

  protected connectUpstream(): Promise<net.Socket> {
    const { host, port } = this.#upstream;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(socket);
      });
      socket.once("error", reject);
    });
  }

  #accept(socket: net.Socket): void {
    if (this.#stopping || this.toxics().some((t) => t.type === "down")) {
      socket.resetAndDestroy();
      return;
    }
    const id = this.#nextId++;
    const conn = new LinkConnection(id, socket, this.clock, this.logger, this.random);
    this.#connections.set(id, conn);
    conn.onClose(() => this.#connections.delete(id));
    void conn.closed.then(() => this.logger.debug({ connection: id }, "connection closed"));
    const create = (t: Toxic) => TOXIC_TYPES[t.type]!.create;
    for (const toxic of this.#toxics.values()) {
      const make = create(toxic);
      if (make && this.applies(conn, toxic)) conn.chains[toxic.stream].add(toxic.name, make(toxic.attributes));
      if (toxic.type === "idle_drop") this.#armIdle(conn, toxic);
    }
    this.logger.debug({ connection: id, client: conn.clientAddress }, "connection opened");
    this.handle(conn).catch((err: unknown) => {
      // A bad connection is closed alone; the link keeps serving the others.
      this.logger.warn({ err, connection: id, client: conn.clientAddress }, "connection failed");
      conn.destroy();
    });
  }

  #armIdle(conn: LinkConnection, toxic: Toxic): void {
    if (!this.applies(conn, toxic)) return;
    const timeout = toxic.attributes.timeout as number;
    const check = () => {
      if (conn.finished || conn.state === "closing") return;
      const idle = this.clock.now() - conn.lastActivityAt;
      if (idle >= timeout) {
        this.logger.info({ connection: conn.id, idleMs: idle, toxic: toxic.name }, "dropping idle connection");
        this.dropIdle(conn, toxic);
      } else timer.reset(timeout - idle);
    };
    // Measured from the last byte either way, checked lazily: no timer churn per chunk.
    const timer = this.clock.setTimer(Math.max(1, timeout - (this.clock.now() - conn.lastActivityAt)), check);
    conn.data.set(`idle:${toxic.name}`, timer);
    conn.onClose(() => timer.cancel());
  }

  async #goDown(): Promise<void> {
    for (const conn of this.#connections.values()) conn.close();
    if (this.#listening) {
      this.#listening = false;
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
  }

  async #listen(): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          err.code === "EADDRINUSE"
            ? new ProdlikeError("PORT_TAKEN", `link "${this.name}" cannot listen on ${this.#host}:${this.#port}: the port is taken; choose another port or stop what uses it`, { cause: err })
            : new ProdlikeError("LINK_ERROR", `link "${this.name}" cannot listen on ${this.#host}:${this.#port}: ${err.message}`, { cause: err }),
        );
      };
      this.#server.once("error", onError);
      this.#server.listen({ host: this.#host, port: this.#port }, () => {
        this.#server.off("error", onError);
        resolve();
      });
    });
    this.#listening = true;
    this.#port = (this.#server.address() as net.AddressInfo).port;
    this.logger.info({ host: this.#host, port: this.#port, upstream: this.#upstream }, "link listening");
  }
}
