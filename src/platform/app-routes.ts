import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Edge } from "../edge/index.js";
import { putOverlay, type Overlay } from "../engine/put-files.js";
import { APP_SOURCE_DIR, RENDER_UID } from "../engine/app-build.js";
import { HttpError, type ExtraRoutes } from "../links/control-server.js";
import type { AppInstance } from "../services/app.js";
import type Dockerode from "dockerode";

/** A hold the host never ends (its process died mid-reload) ends by itself after this long. */
const HOLD_LIMIT_MS = 10 * 60_000;

const RedeploySchema = z.strictObject({
  image: z.string().min(1).optional(),
  env: z.record(z.string(), z.string()).optional(),
  startCommand: z.string().min(1).optional(),
  startCommandSource: z.string().optional(),
});

const OverlaySchema = z.strictObject({
  image: z.string().min(1),
  files: z.array(z.strictObject({ path: z.string().min(1), data: z.string(), mode: z.number().int(), mtime: z.number() })),
  removed: z.array(z.string().min(1)),
});

const HoldEndSchema = z.strictObject({ ok: z.boolean(), error: z.string().optional() });

/**
 * Files reloaded (or removed) by a watching host since `image` was built: every fresh container
 * of that image (a wake, a crash restart) gets them, so it runs the code last reloaded, whether
 * or not the host is still there.
 */
export class OverlayStore {
  #image: string | undefined;
  #overlay: Overlay = { files: [], removed: [] };

  set(image: string, overlay: Overlay): void {
    this.#image = image;
    this.#overlay = overlay;
  }

  /** The `prepare` hook of the app instance. */
  prepare = (container: Dockerode.Container, image: string): Promise<void> =>
    image === this.#image ? putOverlay(container, APP_SOURCE_DIR, this.#overlay, RENDER_UID) : Promise.resolve();
}

/**
 * The control API's routes for what the host drives in the platform: the app instance (its
 * state, logs, starts and redeploys, the checks a reload makes) and the edge's hold around a
 * reload that the host's watcher performs.
 */
export function appRoutes(app: AppInstance, edge: Edge, overlay: OverlayStore): ExtraRoutes {
  const holds = new Map<string, { end: (ok: boolean, error?: string) => void; done: Promise<unknown> }>();
  return async (method, parts, { body, query }) => {
    const [root, name, id] = parts;
    if (root === "app" && parts.length === 1 && method === "GET") {
      return [200, { containerId: app.containerId ?? null, running: app.address !== undefined, starts: app.starts, restarts: app.restarts, oomKills: app.oomKills }];
    }
    if (root === "app" && name === "logs" && method === "GET") {
      const since = Number(query.get("since") ?? 0);
      return [200, { lines: app.logs({ since: Number.isFinite(since) ? since : 0 }) }];
    }
    if (root === "app" && name === "flush-logs" && method === "POST") {
      await app.flushLogs();
      return [204, undefined];
    }
    if (root === "app" && name === "start" && method === "POST") {
      await app.start();
      return [200, { containerId: app.containerId ?? null }];
    }
    if (root === "app" && name === "redeploy" && method === "POST") {
      const changes = RedeploySchema.safeParse(await body());
      if (!changes.success) throw new HttpError(400, "BAD_REQUEST", "send {image?, env?, startCommand?, startCommandSource?}");
      await app.redeploy(changes.data);
      return [200, { containerId: app.containerId ?? null }];
    }
    if (root === "app" && name === "answers" && method === "GET") return [200, { answers: await app.answers() }];
    if (root === "app" && name === "status" && method === "GET") return [200, { status: await app.statusOf(query.get("path") ?? "/") }];
    if (root === "app" && name === "overlay" && method === "PUT") {
      const parsed = OverlaySchema.safeParse(await body());
      if (!parsed.success) throw new HttpError(400, "BAD_REQUEST", "send {image, files: [{path, data (base64), mode, mtime}], removed: [paths]}");
      const files = parsed.data.files.map((file) => ({ ...file, data: Buffer.from(file.data, "base64") }));
      overlay.set(parsed.data.image, { files, removed: parsed.data.removed });
      return [204, undefined];
    }
    if (root === "edge" && name === "hold" && parts.length === 2 && method === "POST") {
      const holdId = randomUUID();
      let end!: (ok: boolean, error?: string) => void;
      const released = new Promise<void>((resolve, reject) => {
        end = (ok, error) => (ok ? resolve() : reject(new Error(error ?? "the reload failed")));
      });
      const limit = setTimeout(() => end(false, "the host ended no hold within 10 minutes"), HOLD_LIMIT_MS);
      limit.unref();
      const done = edge.hold(() => released).finally(() => {
        clearTimeout(limit);
        holds.delete(holdId);
      });
      done.catch(() => {});
      holds.set(holdId, { end, done });
      return [201, { id: holdId, state: edge.state }];
    }
    if (root === "edge" && name === "hold" && id !== undefined && method === "DELETE") {
      const hold = holds.get(id);
      if (!hold) throw new HttpError(404, "NOT_FOUND", `no hold ${id} (it ended, or timed out)`);
      const parsed = HoldEndSchema.safeParse(await body());
      if (!parsed.success) throw new HttpError(400, "BAD_REQUEST", 'send {"ok": true} or {"ok": false, "error": "…"}');
      hold.end(parsed.data.ok, parsed.data.error);
      await hold.done.catch(() => {});
      return [200, { state: edge.state }];
    }
    return undefined;
  };
}
