import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (holds images/, scripts/), from src/engine or dist/engine alike. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const IMAGES_DIR = join(PACKAGE_ROOT, "images");

/** Per-user cache for things fetched or built on the host (the MinIO binary, the rootfs). */
export function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "prodlike");
}
