import type { Logger } from "pino";
import { connectEngine } from "./engine/docker.js";
import { ensureImages } from "./engine/images.js";
import { ensurePlatformImage } from "./engine/platform-image.js";
import { silentLogger } from "./logger.js";
import { up as startStack, type RunningStack, type UpOptions } from "./stack.js";

/** Ports the library uses when nothing sets them: free ones, so any number of stacks run at once. */
export const FREE_PORTS = { https: 0, http: 0 } as const;

/**
 * Start the stack of the Django project in `dir` and resolve once the app answers through the
 * edge: `up("path/to/app", options)` or `up({ dir: "path/to/app", ...options })`.
 *
 * As `prodlike up` does, but the front's ports are free ones unless `overrides.httpsPort` /
 * `httpPort`, `PRODLIKE_HTTPS_PORT` / `PRODLIKE_HTTP_PORT` or prodlike.yaml `ports` set them,
 * and nothing is watched unless `watch: true`. Give `instance` to run several stacks of one
 * folder at once. Stop it with `down()` or `await using`.
 *
 * @example
 * await using stack = await up({ dir: "path/to/app", overrides: { env: { CONN_HEALTH_CHECKS: "true" } } });
 * await stack.idle("16m");
 * expect((await stack.fetch("/health/")).status).toBe(200);
 */
export function up(dirOrOptions: string | (UpOptions & { readonly dir: string }), options: UpOptions = {}): Promise<RunningStack> {
  const [dir, rest] = typeof dirOrOptions === "string" ? [dirOrOptions, options] : splitDir(dirOrOptions);
  return startStack(dir, { ...rest, overrides: { defaultPorts: FREE_PORTS, ...rest.overrides } });
}

function splitDir(options: UpOptions & { readonly dir: string }): [string, UpOptions] {
  const { dir, ...rest } = options;
  return [dir, rest];
}

/**
 * Build the images every stack shares (base, postgres, pgbouncer, redis, minio, python, platform) when
 * they are missing, as `prodlike images build` does. Stacks build them on first use; call this
 * once before starting several stacks at the same time (a vitest global setup, a CI step) so
 * they are built once rather than by each stack at once. Returns the image tags by service.
 */
export async function buildImages(options: { readonly logger?: Logger } = {}): Promise<Record<string, string>> {
  const docker = await connectEngine();
  const logger = options.logger ?? silentLogger();
  const services = await ensureImages(docker, logger);
  return { ...services, platform: await ensurePlatformImage(docker, logger) };
}
