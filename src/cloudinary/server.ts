import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { answerClientError } from "../edge/client-errors.js";
import { ProdlikeError } from "../errors.js";
import { handleDestroy, handleExplicit, handleRename } from "./actions.js";
import { checkBasicAuth, handleAdmin } from "./admin.js";
import { handleBrowse } from "./browse-page.js";
import { badRequest, CloudinaryApiError, errorBody, notFound, unauthorized } from "./api-error.js";
import { createContext, type StandInContext } from "./context.js";
import { handleDelivery } from "./delivery.js";
import { handleFetch } from "./fetch-delivery.js";
import type { ResourceType } from "./media-types.js";
import { ObjectStore } from "./object-store.js";
import { resolveStandInOptions, type CloudinaryStandInOptions, type ResolvedStandInOptions } from "./options.js";
import { RateLimiter } from "./rate-limit.js";
import type { RenderPool } from "./render-pool.js";
import { handleUpload, type UploadResourceType } from "./upload.js";

const UPLOAD_TYPES: ReadonlySet<string> = new Set(["image", "video", "raw", "auto"]);
const DELIVERY_TYPES: ReadonlySet<string> = new Set(["image", "video", "raw", "iu", "images", "files"]);

export interface CloudinaryStandIn extends AsyncDisposable {
  readonly options: ResolvedStandInOptions;
  /** The S3 bucket holding this cloud's assets. */
  readonly bucket: string;
  /** http://127.0.0.1:<port> once listening; throws before. */
  readonly url: string;
  /** The request listener, to mount on another server (e.g. an https one with the local CA). */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** The image render processes: bounded, cancellable; their events and counters serve tests. */
  readonly renders: RenderPool;
  listen(port?: number, host?: string): Promise<string>;
  /** Stop listening and drop connections; idempotent. */
  close(): Promise<void>;
}

/** Split the raw request target; never normalised, so "../" reaches the checks as written. */
function splitTarget(target: string): { segments: string[]; url: URL } {
  const question = target.indexOf("?");
  const path = question < 0 ? target : target.slice(0, question);
  const url = new URL(question < 0 ? "" : target.slice(question), "http://stand-in/");
  return { segments: path.split("/").filter((segment, index) => index > 0 || segment !== ""), url };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`Invalid URL encoding in ${segment}`);
  }
}

export function createCloudinaryStandIn(input: CloudinaryStandInOptions): CloudinaryStandIn {
  const options = resolveStandInOptions(input);
  const logger = options.logger.child({ component: "cloudinary" });
  const store = new ObjectStore(options.s3);
  let server: Server | undefined;
  let ownUrl: string | undefined;
  let closing: Promise<void> | undefined;
  const ctx: StandInContext = createContext(options, store, logger, () => {
    if (!ownUrl) throw new ProdlikeError("INTERNAL", "The Cloudinary stand-in has no URL yet: pass publicBaseUrl or call listen() first");
    return ownUrl;
  });
  const windowMs = options.rateLimit.windowMs ?? 3_600_000;
  const adminLimiter = options.rateLimit.admin === undefined ? undefined : new RateLimiter(options.rateLimit.admin, windowMs, options.now);
  const uploadLimiter = options.rateLimit.upload === undefined ? undefined : new RateLimiter(options.rateLimit.upload, windowMs, options.now);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { segments, url } = splitTarget(req.url ?? "/");
    const method = req.method ?? "GET";
    await store.ensureBucket(ctx.bucket);
    if (segments[0] === "v1_1") {
      const [, cloud, first, second, ...rest] = segments;
      if (cloud !== options.cloudName) throw unauthorized(`Invalid cloud_name ${cloud ?? ""}`);
      let body: Record<string, unknown>;
      let headers: Record<string, string> = {};
      if (first === "ping" || first === "resources") {
        checkBasicAuth(ctx, req);
        if (adminLimiter) headers = adminLimiter.take();
        body = await handleAdmin(ctx, req, url, segments.slice(2).map(decodeSegment));
      } else if (first && UPLOAD_TYPES.has(first) && second && rest.length === 0 && method === "POST") {
        if (uploadLimiter) uploadLimiter.take();
        body = await uploadAction(ctx, req, url, first as UploadResourceType, second);
      } else {
        throw notFound(`Unsupported API path ${method} /${segments.join("/")}`);
      }
      sendJson(res, 200, body, headers);
      return;
    }
    if (method !== "GET" && method !== "HEAD") throw new CloudinaryApiError(405, `Method ${method} not allowed for delivery URLs`);
    if (segments.length === 1 && segments[0] === "") {
      await handleBrowse(ctx, req, res, url);
      return;
    }
    const [cloud, ...rest] = segments;
    if (!cloud) throw notFound("Not found");
    // A private CDN's URLs (private_cdn=True) name the cloud in the host, not in the path.
    if (cloud !== options.cloudName && DELIVERY_TYPES.has(cloud)) return deliver(ctx, req, res, segments);
    if (cloud !== options.cloudName) throw notFound(`Resource not found - unknown cloud_name ${cloud}`);
    await deliver(ctx, req, res, rest);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    res.on("close", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const path = (req.url ?? "").split("?")[0];
      logger.info({ method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10, bytes: Number(res.getHeader("content-length") ?? 0) }, "request");
    });
    route(req, res).catch((err: unknown) => sendError(req, res, err));
  }

  function sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const apiError = err instanceof CloudinaryApiError ? err : undefined;
    if (!apiError) logger.error({ err, method: req.method, path: (req.url ?? "").split("?")[0] }, "request failed");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = apiError?.status ?? 500;
    const message = apiError?.message ?? "General Error";
    const delivery = !(req.url ?? "").startsWith("/v1_1/");
    sendJson(res, status, errorBody(message), { ...apiError?.headers, ...(delivery ? { "x-cld-error": message.replace(/[^\x20-\x7e]/g, "?") } : {}) }, req.method === "HEAD");
    // a request whose body was not read (an early 401) must not hold the socket
    if (!req.complete) req.resume();
  }

  const closeOnce = (): Promise<void> => {
    closing ??= (async () => {
      // renders in flight are failed now, never waited for (libvips' budget ends their work)
      ctx.renders.close();
      if (server) {
        const current = server;
        await new Promise<void>((resolve) => {
          current.close(() => resolve());
          current.closeAllConnections();
        });
      }
      store.destroy();
    })();
    return closing;
  };
  const standIn: CloudinaryStandIn = {
    options,
    bucket: ctx.bucket,
    handle,
    renders: ctx.renders,
    get url(): string {
      if (!ownUrl) throw new ProdlikeError("INTERNAL", "The Cloudinary stand-in is not listening yet: await listen() first");
      return ownUrl;
    },
    async listen(port = 0, host = "127.0.0.1"): Promise<string> {
      if (server) return ownUrl as string;
      const created = createServer({ requestTimeout: 0 }, handle);
      // A malformed request gets its 400 (408, 431) on its own connection, as the front answers it.
      created.on("clientError", (err: NodeJS.ErrnoException, socket) => {
        answerClientError(err, socket, logger);
      });
      await new Promise<void>((resolve, reject) => {
        created.once("error", (err: NodeJS.ErrnoException) =>
          reject(
            err.code === "EADDRINUSE"
              ? new ProdlikeError("PORT_TAKEN", `Port ${port} on ${host} is taken; the Cloudinary stand-in could not listen. Free it or choose another port.`, { cause: err })
              : err,
          ),
        );
        created.listen(port, host, () => resolve());
      });
      server = created;
      const address = created.address() as AddressInfo;
      ownUrl = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
      return ownUrl;
    },
    close(): Promise<void> {
      return closeOnce();
    },
    [Symbol.asyncDispose](): Promise<void> {
      return closeOnce();
    },
  };
  return standIn;
}

/** `<resource_type>/<type>/...`: an uploaded asset, or a remote one (type fetch). */
function deliver(ctx: StandInContext, req: IncomingMessage, res: ServerResponse, segments: readonly string[]): Promise<void> {
  return segments[1] === "fetch" ? handleFetch(ctx, req, res, segments) : handleDelivery(ctx, req, res, segments);
}

async function uploadAction(ctx: StandInContext, req: IncomingMessage, url: URL, rt: UploadResourceType, action: string): Promise<Record<string, unknown>> {
  if (action === "upload") return handleUpload(ctx, req, url, rt);
  const concrete: ResourceType = rt === "auto" ? "image" : rt;
  if (action === "destroy") return handleDestroy(ctx, req, url, concrete);
  if (action === "rename") return handleRename(ctx, req, url, concrete);
  if (action === "explicit") return handleExplicit(ctx, req, url, concrete);
  throw notFound(`Unsupported Upload API action ${action} (the prodlike stand-in implements upload, destroy, rename, explicit)`);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, headOnly = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text)),
  });
  res.end(headOnly ? undefined : text);
}
