import type { Logger } from "pino";
import type { StackDescription } from "./config/types.js";
import type { Docker } from "./engine/docker.js";
import { DockerReloadTarget } from "./engine/reload-target.js";
import { ProdlikeError } from "./errors.js";
import type { RemoteApp } from "./platform/client.js";
import { classifyOptionsFor, watchAndReload, type WatchSession } from "./watch/index.js";

/** What the watcher needs from the running stack to deploy a change. */
export interface DeployHooks {
  /** The app container now serving. */
  readonly containerId: () => Promise<string | undefined>;
  /** Build a new image from the sources and start a fresh container from it (a Render deploy). */
  readonly rebuildAndRedeploy: () => Promise<void>;
  /** render.yaml / Procfile / .env / prodlike.yaml changed: resolve again and restart what changed. */
  readonly reresolve: () => Promise<void>;
}

/**
 * `prodlike up`'s watch: each saved change does what a deploy on Render would do for that kind
 * of change, while the edge holds requests, and a failed change leaves the last good version serving.
 */
export function startWatch(options: {
  docker: Docker;
  description: StackDescription;
  /** The edge's hold, around each change. */
  hold: <T>(fn: () => Promise<T>) => Promise<T>;
  hooks: DeployHooks;
  app: Pick<RemoteApp, "answers" | "start" | "statusOf">;
  /** After each change is applied (or failed). */
  onApplied?: () => void;
  logger: Logger;
}): Promise<WatchSession> {
  const { docker, description, hold, hooks, app, logger } = options;
  const preload = /--preload\b/.test(description.app.startCommand);
  const target = new DockerReloadTarget(docker, {
    dir: description.dir,
    container: async () => {
      const id = await hooks.containerId();
      if (!id) throw new ProdlikeError("APP_START_FAILED", "the app is not running (asleep or stopped): the change is applied at its next start");
      return id;
    },
    preload,
    rebuildAndRedeploy: hooks.rebuildAndRedeploy,
    reresolve: hooks.reresolve,
    hold,
    probe: () => app.answers(),
    status: (path) => app.statusOf(path),
    publicHost: description.app.publicHost,
    // A fresh container of the image with the last good files (the failed ones never got in).
    recover: async () => {
      await app.start();
    },
    logger,
  });
  return watchAndReload({ dir: description.dir, target, classify: classifyOptionsFor(description), logger, onAction: () => options.onApplied?.() });
}
