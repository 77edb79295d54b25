/**
 * prodlike's programmatic API:
 *
 *   import { up } from "prodlike";
 *   await using stack = await up({ dir: "path/to/django-app", overrides: { env: { CONN_HEALTH_CHECKS: "true" } } });
 *   await stack.idle("16m");                        // pooler idle drops, Render's sleep
 *   (await stack.fetch("/health/")).status          // through the edge: HTTPS, Render's headers, wake
 *   stack.links.db.addToxic({ type: "latency", attributes: { latency: 300 } });
 *   stack.env.DATABASE_URL                          // host-side URLs
 *
 * Ports are free ones unless set; `instance` runs several stacks of one folder at once.
 * For vitest, see "prodlike/vitest" (useStack, globalStack).
 */
export { up, buildImages, FREE_PORTS } from "./api.js";
export { RunningStack, type UpOptions, type HostEnv } from "./stack.js";
export { checkInstanceName, uniqueInstanceName } from "./config/instance.js";
export type { ExecResult } from "./engine/exec.js";
export { resolveStack, type StackOverrides } from "./config/resolve.js";
export type { StackDescription, Plan, DbProfile, RedisProfile } from "./config/types.js";
export { VirtualClock, parseDuration, type Clock } from "./clock.js";
export { ProdlikeError, isProdlikeError, type ErrorCode } from "./errors.js";
export { createLogger, silentLogger, type Logger } from "./logger.js";
export { LinkSet, type LinkInfo } from "./links/index.js";
export { createCloudinaryStandIn, type CloudinaryStandIn, type CloudinaryStandInOptions } from "./cloudinary/index.js";
