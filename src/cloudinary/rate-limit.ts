import { CloudinaryApiError } from "./api-error.js";

/**
 * A fixed window counter, as Cloudinary's hourly Admin API quota. Every answer carries the
 * X-FeatureRateLimit-* headers the SDKs read; past the limit the call gets 420.
 */
export class RateLimiter {
  #windowStart = 0;
  #used = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Count one call; returns the headers to send, throws a 420 when over the limit. */
  take(): Record<string, string> {
    const now = this.now();
    if (now - this.#windowStart >= this.windowMs) {
      this.#windowStart = now;
      this.#used = 0;
    }
    const headers = {
      "X-FeatureRateLimit-Limit": String(this.limit),
      "X-FeatureRateLimit-Remaining": String(Math.max(0, this.limit - this.#used - 1)),
      "X-FeatureRateLimit-Reset": new Date(this.#windowStart + this.windowMs).toUTCString(),
    };
    if (this.#used >= this.limit) {
      throw new CloudinaryApiError(420, `Rate Limit Exceeded. Limit: ${this.limit}, resets at ${headers["X-FeatureRateLimit-Reset"]}`, {
        ...headers,
        "X-FeatureRateLimit-Remaining": "0",
      });
    }
    this.#used += 1;
    return headers;
  }
}
