import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type net from "node:net";
import { z } from "zod";
import { parseDuration, type Clock } from "../clock.js";
import { isProdlikeError, ProdlikeError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { LinkSet } from "./link-set.js";
import { parseToxic } from "./parse-toxic.js";

export interface ControlServerOptions {
  links: LinkSet;
  clock: Clock;
  /** Every request must carry `Authorization: Bearer <token>`. */
  token: string;
  logger?: Logger;
  /** The app's front, when the stack has one: GET /edge, POST /edge/sleep, POST /edge/wake. */
  edge?: { sleep(): Promise<void>; wake(): Promise<void>; readonly state: string };
  /** Default 127.0.0.1, port 0. */
  host?: string;
  port?: number;
  /** More routes (the platform's app, hold and owner routes), asked before answering 404. */
  routes?: ExtraRoutes;
}

/**
 * Answers a route it knows with [status, payload], or "handled" when it wrote the response
 * itself (a long-lived stream); undefined: not its route.
 */
export type ExtraRoutes = (
  method: string,
  parts: string[],
  request: { body: () => Promise<unknown>; query: URLSearchParams; req: http.IncomingMessage; res: http.ServerResponse },
) => Promise<[number, unknown] | "handled" | undefined>;

export { HttpError };

export interface ControlServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const AdvanceSchema = z.union([
  z.strictObject({ ms: z.number().min(0).max(366 * 86_400_000) }),
  z.strictObject({ duration: z.string() }),
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The HTTP control API on 127.0.0.1, for tests in other languages and `prodlike chaos` against
 * a running stack:
 *   GET /links · GET /links/:name · POST /links/:name/toxics · DELETE /links/:name/toxics/:toxic
 *   POST /links/:name/reset · POST /reset · GET /clock · POST /clock/advance {ms}|{duration}
 *   GET /edge · POST /edge/sleep · POST /edge/wake
 * Errors are JSON: `{"error": {"code", "message"}}`.
 */
export async function createControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { links, clock } = options;
  const logger = (options.logger ?? silentLogger()).child({ component: "control" });
  const expected = Buffer.from(`Bearer ${options.token}`);

  const route = async (method: string, parts: string[], body: () => Promise<unknown>): Promise<[number, unknown] | undefined> => {
    const [root, name, sub, toxic] = parts;
    if (root === "links" && parts.length === 1 && method === "GET") return [200, { links: links.list() }];
    if (root === "links" && name !== undefined) {
      const link = links.get(name);
      // A Redis link counts the commands it passed (Upstash's request limit counts them too).
      if (parts.length === 2 && method === "GET") return [200, { ...link.info(), ...("requests" in link ? { requests: link.requests } : {}) }];
      if (sub === "toxics" && parts.length === 3 && method === "GET") return [200, { toxics: link.toxics() }];
      if (sub === "toxics" && parts.length === 3 && method === "POST") {
        const parsed = parseToxic(await body(), link.kind);
        if (link.toxics().some((t) => t.name === parsed.name)) {
          throw new HttpError(409, "TOXIC_EXISTS", `link "${name}" already has a toxic named "${parsed.name}": remove it first or give the new one another name`);
        }
        return [201, link.addToxic(parsed)];
      }
      if (sub === "toxics" && toxic !== undefined && parts.length === 4 && method === "DELETE") {
        if (!link.toxics().some((t) => t.name === toxic)) {
          throw new HttpError(404, "TOXIC_NOT_FOUND", `link "${name}" has no toxic named "${toxic}"`);
        }
        await link.removeToxic(toxic);
        return [204, undefined];
      }
      if (sub === "reset" && parts.length === 3 && method === "POST") {
        await link.reset();
        return [204, undefined];
      }
      if (sub === "connections" && parts.length === 3 && method === "GET") return [200, { connections: link.connections() }];
    }
    if (root === "reset" && parts.length === 1 && method === "POST") {
      await links.reset();
      return [204, undefined];
    }
    if (root === "clock" && parts.length === 1 && method === "GET") return [200, { now: clock.now() }];
    if (root === "clock" && sub === undefined && name === "advance" && method === "POST") {
      const parsed = AdvanceSchema.safeParse(await body());
      if (!parsed.success) {
        throw new HttpError(400, "BAD_REQUEST", 'send {"ms": <milliseconds>} or {"duration": "16m"}');
      }
      let ms: number;
      try {
        ms = "ms" in parsed.data ? parsed.data.ms : parseDuration(parsed.data.duration);
      } catch (err) {
        throw new HttpError(400, "BAD_REQUEST", (err as Error).message);
      }
      await clock.advance(ms);
      logger.info({ ms }, "clock advanced");
      return [200, { advancedMs: ms, now: clock.now() }];
    }
    const edge = options.edge;
    if (root === "edge" && edge) {
      if (parts.length === 1 && method === "GET") return [200, { state: edge.state }];
      if (name === "sleep" && parts.length === 2 && method === "POST") {
        await edge.sleep();
        return [200, { state: edge.state }];
      }
      if (name === "wake" && parts.length === 2 && method === "POST") {
        await edge.wake();
        return [200, { state: edge.state }];
      }
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const send = (status: number, payload: unknown) => {
      if (payload === undefined) {
        res.writeHead(status).end();
        return;
      }
      const text = JSON.stringify(payload);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
    };
    const auth = Buffer.from(req.headers.authorization ?? "");
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      req.resume();
      send(401, { error: { code: "UNAUTHORIZED", message: "send Authorization: Bearer <token> (the token is in the stack's state directory)" } });
      return;
    }
    const body = () =>
      new Promise<unknown>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > 64 * 1024) reject(new HttpError(413, "TOO_LARGE", "request body over 64 KB"));
          else chunks.push(chunk);
        });
        req.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve(text.trim() === "" ? {} : JSON.parse(text));
          } catch {
            reject(new HttpError(400, "BAD_JSON", "the request body is not valid JSON"));
          }
        });
        req.on("error", reject);
      });
    let url: URL;
    let parts: string[];
    try {
      url = new URL(req.url ?? "/", "http://control");
      parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch (err) {
      // A path that is no URL (`http://[`) or bad percent-encoding (`/%E0%A4%A`): the caller's mistake, not a crash.
      if (!(err instanceof URIError) && (err as NodeJS.ErrnoException).code !== "ERR_INVALID_URL") throw err;
      req.resume();
      send(400, { error: { code: "BAD_PATH", message: `the request path ${JSON.stringify(req.url)} is not a valid URL path: percent-encode it (encodeURIComponent)` } });
      return;
    }
    const method = req.method ?? "GET";
    route(method, parts, body)
      .then(async (answer) => answer ?? (await options.routes?.(method, parts, { body, query: url.searchParams, req, res })))
      .then((answer) => {
        if (answer === "handled") return;
        if (answer === undefined) throw new HttpError(404, "NOT_FOUND", `no route ${method} /${parts.join("/")}`);
        send(answer[0], answer[1]);
      })
      .catch((err: unknown) => {
        if (err instanceof HttpError) return send(err.status, { error: { code: err.code, message: err.message } });
        if (isProdlikeError(err) && err.isUserError()) {
          const status = err.code === "SERVICE_UNKNOWN" ? 404 : 400;
          return send(status, { error: { code: err.code, message: err.message } });
        }
        logger.error({ err }, "control request failed");
        const code = err instanceof ProdlikeError ? err.code : "INTERNAL";
        send(500, { error: { code, message: (err as Error).message ?? String(err) } });
      });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  logger.info({ host, port }, "control API listening");
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return stopping;
  };
  return {
    url: `http://${host}:${port}`,
    port,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
