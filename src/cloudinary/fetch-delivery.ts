import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { rootCertificates } from "node:tls";
import { Agent, interceptors, request, type Dispatcher } from "undici";
import { badRequest, CloudinaryApiError, notFound } from "./api-error.js";
import type { StandInContext } from "./context.js";
import { checkUrlSignature, clientGone } from "./delivery.js";
import { chooseFormat } from "./image-render.js";
import { contentTypeFor, detectImage } from "./media-types.js";
import { checkRenderLimits, checkTransformationLength } from "./render-limits.js";
import { isTransformationSegment, parseTransformation, type OutputFormat } from "./transformation.js";

const FETCH_TIMEOUT_MS = 30_000;
const RENDERABLE: ReadonlySet<string> = new Set(["jpg", "png", "webp", "avif", "gif", "tiff"]);

let cached: { ca: string | undefined; dispatcher: Dispatcher } | undefined;

/** The public CAs, plus prodlike's (a remote image served by another part of the stack); redirects followed. */
function dispatcher(ca: string | undefined): Dispatcher {
  if (!cached || cached.ca !== ca) {
    const agent = new Agent({ connect: { ca: ca ? [...rootCertificates, ca] : [...rootCertificates] } });
    cached = { ca, dispatcher: agent.compose(interceptors.redirect({ maxRedirections: 5 })) };
  }
  return cached.dispatcher;
}

/** The remote URL and transformation of `image/fetch/[s--sig--/][<transformations>/]<url>`. */
export function parseFetchPath(segments: readonly string[]): { remote: string; transformation: string; signature?: { value: string; signed: string } } {
  const [resourceType, , ...rest] = segments;
  if (resourceType !== "image") throw badRequest(`Fetching remote ${resourceType ?? ""} assets is not implemented by the prodlike stand-in (only image/fetch)`);
  let index = 0;
  const signatureMatch = /^s--([A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{32})--$/.exec(rest[0] ?? "");
  if (signatureMatch) index += 1;
  const signedFrom = index;
  while (index < rest.length - 1 && isTransformationSegment(rest[index] as string)) index += 1;
  const transformation = rest.slice(signedFrom, index).join("/");
  let remote: string;
  try {
    remote = decodeURIComponent(rest.slice(index).join("/"));
  } catch {
    throw badRequest(`Invalid URL encoding in ${rest.slice(index).join("/")}`);
  }
  // A proxy or a browser may have merged the "//" after the scheme.
  remote = remote.replace(/^(https?):\/+/i, "$1://");
  if (!/^https?:\/\/[^/]/i.test(remote)) throw badRequest(`Invalid fetch URL - ${remote}: give an http:// or https:// URL after image/fetch/`);
  return {
    remote,
    transformation: decodeURIComponent(transformation),
    ...(signatureMatch ? { signature: { value: signatureMatch[1]!, signed: rest.slice(signedFrom).join("/") } } : {}),
  };
}

/** GET/HEAD /<cloud>/image/fetch/...: the remote image, fetched now and transformed like an upload. */
export async function handleFetch(ctx: StandInContext, req: IncomingMessage, res: ServerResponse, segments: readonly string[]): Promise<void> {
  const { remote, transformation, signature } = parseFetchPath(segments);
  checkTransformationLength(transformation);
  if (signature) checkUrlSignature(signature, ctx.options.apiSecret);
  const steps = parseTransformation(transformation);
  const gone = clientGone(res);
  const original = await download(ctx, remote);
  const detected = await detectImage(original);
  if (!detected?.format) throw badRequest(`Resource is not an image - ${remote}`);
  checkRenderLimits(steps, detected.width ?? 1, detected.height ?? 1);
  const own = (RENDERABLE.has(detected.format) ? detected.format : "png") as OutputFormat;
  const format = chooseFormat(steps, undefined, own, req.headers.accept ?? "");
  const data = steps.length === 0 && format === detected.format ? original : (await ctx.renders.render(original, steps, format, gone)).data;
  res.writeHead(200, {
    "Content-Type": contentTypeFor(format),
    "Content-Length": String(data.length),
    ETag: `"${createHash("md5").update(data).digest("hex")}"`,
    "Cache-Control": "public, max-age=604800",
    "Access-Control-Allow-Origin": "*",
  });
  res.end(req.method === "HEAD" ? undefined : data);
}

async function download(ctx: StandInContext, remote: string): Promise<Buffer> {
  const limit = ctx.options.maxFileBytes.image;
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(remote, { dispatcher: dispatcher(ctx.options.fetchCa), signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    ctx.logger.info({ err, remote }, "fetch of a remote image failed");
    throw notFound(`Error in loading ${remote} - ${err instanceof Error ? err.message : String(err)}`);
  }
  if (response.statusCode >= 400) {
    await response.body.dump();
    throw notFound(`Error in loading ${remote} - ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.body.destroy();
      throw new CloudinaryApiError(400, `File size too large. Got more than ${limit}. Maximum is ${limit}.`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
