import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { Agent, request } from "undici";
import { afterAll, afterEach } from "vitest";
import { WebSocketServer } from "ws";
import { VirtualClock } from "../../../src/clock.js";
import { createEdge, type AppBackend, type BackendTarget, type Edge, type EdgeOptions, type HealthEvent, type StateChange } from "../../../src/edge/index.js";
import type { CertificateAuthority } from "../../../src/tls/ca.js";
import { useTempCa } from "../../helpers/ca.js";

export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
}

/**
 * A real app stand-in on 127.0.0.1:0: echoes the request it saw as JSON, says
 * `Server: gunicorn`, serves `/healthz` with a status the test sets, and echoes WebSocket
 * messages.
 */
export class Upstream {
  readonly seen: Seen[] = [];
  readonly healthSeen: IncomingMessage["headers"][] = [];
  /** Status `/healthz` answers; 0: it never answers. */
  healthStatus = 200;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;

  get target(): BackendTarget {
    const address = this.#server?.address() as AddressInfo | null;
    if (!address) throw new Error("the upstream is not listening");
    return { host: "127.0.0.1", port: address.port };
  }

  get listening(): boolean {
    return this.#server?.listening ?? false;
  }

  async start(port = 0): Promise<BackendTarget> {
    const wss = new WebSocketServer({ noServer: true });
    wss.on("connection", (ws, req) => {
      ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `echo:${data.toString()}|host=${req.headers.host}`));
    });
    const server = createServer((req, res) => {
      if (req.url === "/healthz") {
        this.healthSeen.push(req.headers);
        if (this.healthStatus === 0) return; // hangs: never answers
        res.writeHead(this.healthStatus, { server: "gunicorn" }).end();
        return;
      }
      this.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      if (req.url === "/close") {
        // gunicorn's sync worker: every response ends its connection.
        res.writeHead(200, { server: "gunicorn", connection: "close" }).end("closed");
        return;
      }
      if (req.url === "/respond") {
        // Answers with the headers the test asks for (JSON in x-test-respond), as an app would set them.
        const { ":status": status, ...headers } = JSON.parse(String(req.headers["x-test-respond"] ?? "{}")) as Record<string, string | string[]>;
        res.writeHead(Number(status ?? 200), { ...headers, server: "gunicorn" }).end();
        return;
      }
      if (req.url === "/chunked") {
        // A streamed answer: Transfer-Encoding: chunked, which HTTP/2 must not pass on.
        res.writeHead(200, { server: "gunicorn", "content-type": "text/plain" });
        res.write("one,");
        setImmediate(() => res.end("two"));
        return;
      }
      if (req.url?.startsWith("/slow")) {
        setTimeout(() => res.writeHead(200, { server: "gunicorn" }).end("slow"), 200);
        return;
      }
      const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { "content-type": "application/json", server: "gunicorn" }).end(body);
    });
    server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)));
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.#server = server;
    this.#wss = wss;
    return this.target;
  }

  /** Close at once; `graceful`: finish the requests it has first, as gunicorn does on SIGTERM. */
  async stop(graceful = false): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const client of this.#wss?.clients ?? []) client.terminate();
    this.#wss?.close();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if (graceful) server.closeIdleConnections();
      else server.closeAllConnections();
    });
  }
}

/**
 * The edge's backend, made real: `ensureRunning` starts a fresh upstream server (as the
 * stack starts a fresh container), `stop` closes it. `bootMs` makes the start slow;
 * `failNext` makes the next start fail.
 */
export class LocalBackend implements AppBackend {
  upstream = new Upstream();
  starts = 0;
  stops = 0;
  restarts = 0;
  bootMs = 0;
  failNext: string | undefined;
  /** Instances ever started, newest last (each is a fresh server: a fresh container). */
  readonly instances: Upstream[] = [];
  #paused: Promise<void> | undefined;

  /** Make starts wait until the returned function is called (a boot the test controls). */
  pause(): () => void {
    let release!: () => void;
    this.#paused = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.#paused = undefined;
      release();
    };
  }

  async ensureRunning(signal: AbortSignal): Promise<BackendTarget> {
    if (this.upstream.listening) return this.#publish(this.upstream.target);
    this.starts++;
    if (this.bootMs > 0) await new Promise((resolve) => setTimeout(resolve, this.bootMs));
    await this.#paused;
    signal.throwIfAborted();
    if (this.failNext) {
      const message = this.failNext;
      this.failNext = undefined;
      throw new Error(message);
    }
    const fresh = new Upstream();
    fresh.healthStatus = this.upstream.healthStatus;
    this.upstream = fresh;
    this.instances.push(fresh);
    return this.#publish(await fresh.start());
  }

  /**
   * With `liveTargets`, every instance is reached through one address object whose port follows
   * the instance, as the app instance's address does in the platform (a crash restart changes
   * it under the edge's feet).
   */
  liveTargets = false;
  #live: { host: string; port: number } | undefined;

  #publish(target: BackendTarget): BackendTarget {
    if (!this.liveTargets) return target;
    this.#live ??= { ...target };
    Object.assign(this.#live, target);
    return this.#live;
  }

  /** The instance dies (its connections reset), and a fresh one takes its place, as the platform restarts a crashed container. */
  async crash(): Promise<void> {
    await this.upstream.stop();
    const fresh = new Upstream();
    fresh.healthStatus = this.upstream.healthStatus;
    this.upstream = fresh;
    this.instances.push(fresh);
    this.#publish(await fresh.start());
  }

  async stop(): Promise<void> {
    this.stops++;
    await this.upstream.stop();
  }

  /** A deploy as the app instance does it: the fresh instance boots, then the old one stops gracefully. */
  async redeploy(): Promise<BackendTarget> {
    const old = this.upstream;
    const fresh = new Upstream();
    fresh.healthStatus = old.healthStatus;
    const target = this.#publish(await fresh.start());
    this.upstream = fresh;
    this.instances.push(fresh);
    await old.stop(true);
    return target;
  }

  async restart(signal: AbortSignal): Promise<BackendTarget> {
    this.restarts++;
    await this.upstream.stop();
    const target = await this.ensureRunning(signal);
    this.upstream.healthStatus = 200; // whatever broke the old instance, the fresh one is healthy
    return target;
  }
}

export interface LogEntry {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A pino logger that keeps its entries, for asserting on log lines. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split("\n")) if (line.trim()) entries.push(JSON.parse(line) as LogEntry);
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, sink), entries };
}

/** An HTTPS client that trusts only the test CA, as a browser that imported it would. */
export function trustingAgent(ca: CertificateAuthority): Agent {
  return new Agent({ connect: { ca: ca.certPem }, keepAliveTimeout: 10, pipelining: 0 });
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export async function get(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(url, { dispatcher: agent, headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** A throwaway CA and an HTTPS client that trusts it, for one test file (made before its tests, removed after). */
export function useTrustingClient(): { readonly ca: CertificateAuthority; readonly agent: Agent } {
  const temp = useTempCa();
  let agent: Agent | undefined;
  afterAll(() => agent?.close());
  return {
    get ca() {
      return temp.ca;
    },
    get agent() {
      agent ??= trustingAgent(temp.ca);
      return agent;
    },
  };
}

/** One test's edge and what it records. */
export interface EdgeRun {
  readonly edge: Edge;
  readonly backend: LocalBackend;
  readonly clock: VirtualClock;
  readonly entries: LogEntry[];
  readonly changes: StateChange[];
  readonly health: HealthEvent[];
}

/**
 * Edges for the tests of one file: `start` makes one with a fresh backend, virtual clock and
 * recording logger (service "shop", the file's CA, `defaults`, then `options`); it is stopped
 * with its backend after the test.
 */
export function useEdges(client: { readonly ca: CertificateAuthority }, defaults: Partial<EdgeOptions> = {}): { start(options?: Partial<EdgeOptions>): Promise<EdgeRun> } {
  let running: EdgeRun | undefined;
  afterEach(async () => {
    const run = running;
    running = undefined;
    await run?.edge.stop();
    await run?.backend.stop();
  });
  return {
    async start(options = {}) {
      const backend = new LocalBackend();
      const clock = new VirtualClock();
      const { logger, entries } = recordingLogger();
      const edge = await createEdge({ serviceName: "shop", backend, clock, ca: client.ca, logger, ...defaults, ...options });
      const run: EdgeRun = { edge, backend, clock, entries, changes: [], health: [] };
      edge.on("state", (change) => run.changes.push(change));
      edge.on("health", (event) => run.health.push(event));
      running = run;
      return run;
    },
  };
}
