import type { Logger } from "../logger.js";
import { unauthorized } from "./api-error.js";
import { bucketFor, type ObjectStore } from "./object-store.js";
import type { ResolvedStandInOptions } from "./options.js";
import { RenderPool } from "./render-pool.js";
import { str, type Params } from "./params.js";
import { ResourceRepository } from "./resources.js";
import type { UrlContext } from "./response-shape.js";
import { checkTimestamp, verifySignature } from "./signature.js";

/** What every handler needs: options, storage, URLs. One per stand-in. */
export interface StandInContext {
  readonly options: ResolvedStandInOptions;
  readonly store: ObjectStore;
  readonly bucket: string;
  readonly repo: ResourceRepository;
  readonly logger: Logger;
  /** Bounded concurrency and cancellation of image renders. */
  readonly renders: RenderPool;
  urls(): UrlContext & { apiKey: string; apiSecret: string; algorithm: ResolvedStandInOptions["signatureAlgorithm"] };
}

export function createContext(options: ResolvedStandInOptions, store: ObjectStore, logger: Logger, ownUrl: () => string): StandInContext {
  const bucket = bucketFor(options.cloudName);
  return {
    options,
    store,
    bucket,
    repo: new ResourceRepository(store, bucket),
    logger,
    renders: new RenderPool(options.renders),
    urls() {
      // Its own listen URL only when no public base is given (mounted elsewhere, it has none).
      return {
        cloudName: options.cloudName,
        secureBaseUrl: options.publicBaseUrl ?? ownUrl(),
        baseUrl: options.publicHttpBaseUrl ?? ownUrl(),
        apiKey: options.apiKey,
        apiSecret: options.apiSecret,
        algorithm: options.signatureAlgorithm,
      };
    },
  };
}

/** A signed Upload API call: api_key, fresh timestamp, matching signature — or Cloudinary's error. */
export function checkSignedRequest(ctx: StandInContext, params: Params): void {
  const apiKey = str(params, "api_key");
  if (!apiKey) throw unauthorized("Must supply api_key");
  if (apiKey !== ctx.options.apiKey) throw unauthorized(`Unknown API key ${apiKey}`);
  checkTimestamp(str(params, "timestamp"), ctx.options.now());
  const signature = str(params, "signature");
  if (!signature) throw unauthorized("Missing required parameter - signature");
  verifySignature(params, signature, ctx.options.apiSecret);
}
