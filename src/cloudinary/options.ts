import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import { ProdlikeError } from "../errors.js";
import type { ResourceType } from "./media-types.js";
import { RENDER_TIME_BUDGET_SECONDS } from "./render-limits.js";
import type { S3Options } from "./object-store.js";
import type { SignatureAlgorithm } from "./signature.js";

/** An upload preset as configured in Cloudinary's console; its fields are upload parameters. */
export interface UploadPreset {
  /** Allow uploads without a signature (Cloudinary's "Unsigned" mode). */
  readonly unsigned?: boolean;
  readonly folder?: string;
  readonly tags?: string | readonly string[];
  readonly overwrite?: boolean;
  readonly useFilename?: boolean;
  readonly uniqueFilename?: boolean;
  readonly eager?: string;
  readonly context?: string;
}

export interface RateLimitOptions {
  /** Admin API calls allowed per window (Cloudinary's free plan: 500 an hour). */
  readonly admin?: number;
  /** Upload API calls allowed per window. */
  readonly upload?: number;
  readonly windowMs?: number;
}

export interface CloudinaryStandInOptions {
  readonly cloudName: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly s3: S3Options;
  /** Base of `secure_url` (e.g. https://res.cloudinary.localhost:8443); defaults to the server's own URL. */
  readonly publicBaseUrl?: string;
  /** Base of `url`; defaults to publicBaseUrl. */
  readonly publicHttpBaseUrl?: string;
  readonly uploadPresets?: Readonly<Record<string, UploadPreset>>;
  readonly rateLimit?: RateLimitOptions;
  /** Per resource type upload limits in bytes; defaults are Cloudinary's free plan. */
  readonly maxFileBytes?: Partial<Record<ResourceType, number>>;
  /** Algorithm of the `signature` field in responses (the account setting). */
  readonly signatureAlgorithm?: SignatureAlgorithm;
  /** A CA certificate (PEM) trusted, besides the public ones, when fetching remote images (image/fetch). */
  readonly fetchCa?: string;
  /**
   * Image renders at once (default 2: one process and core each), renders waiting (default 32)
   * and the time budget of one render in seconds (default 20).
   */
  readonly renders?: { readonly concurrency?: number; readonly maxQueued?: number; readonly timeoutSeconds?: number };
  readonly logger?: Logger;
  /** Wall clock in ms, for the stale-timestamp check and versions; Date.now by default. */
  readonly now?: () => number;
}

export interface ResolvedStandInOptions extends Required<Omit<CloudinaryStandInOptions, "publicBaseUrl" | "publicHttpBaseUrl" | "rateLimit" | "maxFileBytes" | "fetchCa" | "renders">> {
  readonly renders: { readonly concurrency: number; readonly maxQueued: number; readonly timeoutSeconds: number };
  readonly fetchCa: string | undefined;
  readonly publicBaseUrl: string | undefined;
  readonly publicHttpBaseUrl: string | undefined;
  readonly rateLimit: RateLimitOptions;
  readonly maxFileBytes: Readonly<Record<ResourceType, number>>;
}

const MB = 1024 * 1024;
/** Cloudinary free plan: images and raw files 10 MB, videos 100 MB. */
export const FREE_PLAN_MAX_FILE_BYTES: Readonly<Record<ResourceType, number>> = { image: 10 * MB, raw: 10 * MB, video: 100 * MB };

function invalid(option: string, value: unknown, fix: string): ProdlikeError {
  return new ProdlikeError("CONFIG_INVALID", `Cloudinary stand-in option ${option} is invalid: ${JSON.stringify(value)}. ${fix}`);
}

export function resolveStandInOptions(options: CloudinaryStandInOptions): ResolvedStandInOptions {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.cloudName ?? "")) {
    throw invalid("cloudName", options.cloudName, "Use letters, digits, '-' and '_' (as in cloudinary://key:secret@<cloud>).");
  }
  if (!options.apiKey) throw invalid("apiKey", options.apiKey, "Set a non-empty API key.");
  if (!options.apiSecret) throw invalid("apiSecret", options.apiSecret, "Set a non-empty API secret.");
  if (!options.s3?.endpoint) throw invalid("s3.endpoint", options.s3?.endpoint, "Point it at MinIO, e.g. http://127.0.0.1:9000.");
  for (const [name, base] of [["publicBaseUrl", options.publicBaseUrl], ["publicHttpBaseUrl", options.publicHttpBaseUrl]] as const) {
    if (base !== undefined && !/^https?:\/\/[^/]+$/.test(base)) {
      throw invalid(name, base, "Give scheme, host and port only, without a path or trailing slash, e.g. https://res.cloudinary.localhost:8443.");
    }
  }
  return {
    cloudName: options.cloudName,
    apiKey: options.apiKey,
    apiSecret: options.apiSecret,
    s3: options.s3,
    publicBaseUrl: options.publicBaseUrl,
    publicHttpBaseUrl: options.publicHttpBaseUrl ?? options.publicBaseUrl,
    uploadPresets: options.uploadPresets ?? {},
    rateLimit: options.rateLimit ?? {},
    maxFileBytes: { ...FREE_PLAN_MAX_FILE_BYTES, ...options.maxFileBytes },
    signatureAlgorithm: options.signatureAlgorithm ?? "sha1",
    fetchCa: options.fetchCa,
    renders: resolveRenders(options.renders),
    logger: options.logger ?? silentLogger(),
    now: options.now ?? Date.now,
  };
}

function resolveRenders(renders: CloudinaryStandInOptions["renders"]): ResolvedStandInOptions["renders"] {
  const concurrency = renders?.concurrency ?? 2;
  const maxQueued = renders?.maxQueued ?? 32;
  const timeoutSeconds = renders?.timeoutSeconds ?? RENDER_TIME_BUDGET_SECONDS;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw invalid("renders.concurrency", concurrency, "Use a whole number of at least 1.");
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw invalid("renders.maxQueued", maxQueued, "Use a whole number of at least 0.");
  if (!(timeoutSeconds > 0)) throw invalid("renders.timeoutSeconds", timeoutSeconds, "Use a number of seconds above 0.");
  return { concurrency, maxQueued, timeoutSeconds };
}
