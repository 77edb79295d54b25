import { CloudinaryApiError, notFound } from "./api-error.js";
import type { StandInContext } from "./context.js";
import { contentTypeFor } from "./media-types.js";
import { checkRenderLimits } from "./render-limits.js";
import { keys, type ResourceRecord } from "./resources.js";
import { canonicalTransformation, type OutputFormat, type TransformStep } from "./transformation.js";

export interface DerivedImage {
  readonly key: string;
  readonly data: Buffer;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
  readonly cached: boolean;
}

interface Flight {
  readonly promise: Promise<DerivedImage>;
  /** Aborts the render once every request waiting for it has gone. */
  readonly controller: AbortController;
  waiters: number;
}

const inFlight = new Map<string, Flight>();

/**
 * A transformed image, from the cache in MinIO or rendered now and stored there. The cache key
 * covers the canonical transformation, the output format and the original's etag and version,
 * so an overwrite never serves a stale derivative. Concurrent requests share one render, which
 * is cancelled only when all of them have gone (a caller without a signal never goes).
 */
export function derivedImage(
  ctx: StandInContext,
  record: ResourceRecord,
  transformation: string,
  steps: readonly TransformStep[],
  format: OutputFormat,
  signal?: AbortSignal,
): Promise<DerivedImage> {
  // decided from the URL and the stored size, before any byte is fetched or decoded
  if (record.width && record.height) checkRenderLimits(steps, record.width, record.height);
  const cacheText = `${canonicalTransformation(transformation)}|${format}|${record.etag}|${record.version}`;
  const key = keys.derived(record.resource_type, record.public_id, cacheText, format);
  const flightKey = `${ctx.bucket}/${key}`;
  if (signal?.aborted) return Promise.reject(new CloudinaryApiError(499, "Client closed the request before the transformation started"));
  let flight = inFlight.get(flightKey);
  if (!flight) {
    const controller = new AbortController();
    const promise = produce(ctx, record, key, steps, format, controller.signal).finally(() => inFlight.delete(flightKey));
    flight = { promise, controller, waiters: 0 };
    inFlight.set(flightKey, flight);
  }
  const joined = flight;
  joined.waiters += signal ? 1 : Number.POSITIVE_INFINITY;
  ctx.renders.emit("join", joined.waiters);
  signal?.addEventListener(
    "abort",
    () => {
      joined.waiters -= 1;
      if (joined.waiters === 0) joined.controller.abort();
    },
    { once: true },
  );
  return joined.promise;
}

async function produce(
  ctx: StandInContext,
  record: ResourceRecord,
  key: string,
  steps: readonly TransformStep[],
  format: OutputFormat,
  signal: AbortSignal | undefined,
): Promise<DerivedImage> {
  const cached = await ctx.store.getBuffer(ctx.bucket, key);
  if (cached) {
    const sharp = (await import("sharp")).default;
    const meta = await sharp(cached).metadata();
    return { key, data: cached, format, width: meta.width ?? 0, height: meta.pageHeight ?? meta.height ?? 0, cached: true };
  }
  const original = await ctx.store.getBuffer(ctx.bucket, keys.asset(record.resource_type, record.public_id));
  if (!original) throw notFound(`Resource not found - ${record.public_id}`);
  if (!record.width || !record.height) {
    const sharp = (await import("sharp")).default;
    const meta = await sharp(original).metadata();
    checkRenderLimits(steps, meta.width ?? 1, meta.pageHeight ?? meta.height ?? 1);
  }
  const rendered = await ctx.renders.render(original, steps, format, signal);
  await ctx.store.putBuffer(ctx.bucket, key, rendered.data, contentTypeFor(format));
  return { key, ...rendered, cached: false };
}
