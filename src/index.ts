/**
 * prodlike's programmatic API:
 *
 *   import { up } from "prodlike";
 *   await using stack = await up("path/to/django-app", { overrides: { httpsPort: 0, httpPort: 0 } });
 *   await stack.idle("16m");                        // pooler idle drops, Render's sleep
 *   stack.links.get("db").addToxic({ type: "latency", attributes: { latency: 300 } });
 *   stack.env.DATABASE_URL                          // host-side URLs
 */
export { up, RunningStack, type UpOptions, type HostEnv } from "./stack.js";
export { resolveStack, type StackOverrides } from "./config/resolve.js";
export type { StackDescription, Plan, DbProfile, RedisProfile } from "./config/types.js";
export { VirtualClock, parseDuration, type Clock } from "./clock.js";
export { ProdlikeError, isProdlikeError, type ErrorCode } from "./errors.js";
export { createLogger, silentLogger, type Logger } from "./logger.js";
export { LinkSet, type LinkInfo } from "./links/index.js";
export { createCloudinaryStandIn, type CloudinaryStandIn, type CloudinaryStandInOptions } from "./cloudinary/index.js";
