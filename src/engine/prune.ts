import { existsSync } from "node:fs";
import type { Logger } from "pino";
import type { Docker } from "./docker.js";
import { LABEL_DIR, LABEL_OWNER, LABEL_PROJECT } from "./labels.js";
import { parseOwner, thisHost } from "./owner.js";
import { isUnder, listStacks, sweepOrphans, verdictOf, type ReapedStack } from "./reaper.js";

/** Services whose containers run once and stop (a stopped one is a leftover, not a stack that is down). */
const ONE_OFF_SERVICES = new Set(["build", "pre-deploy"]);
/** A stopped one-off of a live process is left this long: its owner may still commit or read it. */
const ONE_OFF_GRACE_MS = 10 * 60 * 1000;
export const APP_IMAGE_REPO = "prodlike-app/";

export interface PruneOptions {
  readonly dryRun?: boolean;
  readonly volumes?: boolean;
  /** Only what belongs to project folders inside this one. */
  readonly under?: string;
  readonly logger: Logger;
}

export interface PrunedItem {
  readonly name: string;
  readonly project: string;
  readonly reason: string;
}

export interface PruneReport {
  /** Containers and networks of stacks whose process died. */
  readonly stacks: readonly ReapedStack[];
  readonly images: readonly PrunedItem[];
  readonly containers: readonly PrunedItem[];
  readonly volumes: readonly PrunedItem[];
  /** Volumes of deleted projects that stay because `volumes` was not asked. */
  readonly keptVolumes: readonly PrunedItem[];
  /** What could not be removed (in use, …). */
  readonly failed: readonly { readonly name: string; readonly error: string }[];
}

/**
 * Remove what prodlike left behind: the stacks of dead processes, app images that are not
 * the newest of their project or whose project folder is gone, stopped build and pre-deploy
 * containers, and (with `volumes`) the volumes of projects whose folder is gone.
 */
export async function pruneLeftovers(docker: Docker, options: PruneOptions): Promise<PruneReport> {
  const failed: { name: string; error: string }[] = [];
  const attempt = async (name: string, remove: () => Promise<unknown>): Promise<boolean> => {
    if (options.dryRun) return true;
    try {
      await remove();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return true;
      failed.push({ name, error: (err as { json?: { message?: string } }).json?.message ?? String(err) });
      return false;
    }
  };

  const dead = new Set((await listStacks(docker)).filter((g) => verdictOf(g) === "dead").flatMap((g) => g.containers.map((c) => c.id)));
  const stacks = await sweepOrphans(docker, options.logger, { dryRun: options.dryRun, under: options.under });
  const all = await docker.listContainers({ all: true });

  // Stopped one-offs: of a process that is gone, or stopped long ago.
  const containers: PrunedItem[] = [];
  for (const c of all) {
    const labels = c.Labels ?? {};
    const service = labels["prodlike.service"];
    if (!labels[LABEL_PROJECT] || !service || !ONE_OFF_SERVICES.has(service) || c.State === "running" || dead.has(c.Id)) continue;
    if (!isUnder(labels[LABEL_DIR], options.under)) continue;
    const owner = parseOwner(labels[LABEL_OWNER]);
    const ownerAlive = owner !== null && verdictOf({ owner }) !== "dead";
    const finished = Date.parse((await docker.getContainer(c.Id).inspect().catch(() => null))?.State.FinishedAt ?? "") || 0;
    if (ownerAlive && Date.now() - finished < ONE_OFF_GRACE_MS) continue;
    const name = c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
    const reason = ownerAlive ? "stopped more than 10 minutes ago" : owner ? "its process is gone" : "it has no owner label";
    if (await attempt(name, () => docker.getContainer(c.Id).remove({ force: true, v: true }))) containers.push({ name, project: labels[LABEL_PROJECT]!, reason });
  }

  // App images: keep the newest of each project whose folder still exists.
  const inUse = new Set(all.map((c) => c.ImageID));
  const images: PrunedItem[] = [];
  const appImages = (await docker.listImages({ filters: { label: [LABEL_PROJECT] } }))
    .flatMap((image) => (image.RepoTags ?? []).filter((tag) => tag.startsWith(APP_IMAGE_REPO)).map((tag) => ({ tag, image })))
    .filter(({ image }) => isUnder(image.Labels?.[LABEL_DIR], options.under));
  const newest = new Map<string, number>();
  for (const { tag, image } of appImages) newest.set(projectOfTag(tag), Math.max(newest.get(projectOfTag(tag)) ?? 0, image.Created));
  for (const { tag, image } of appImages) {
    const project = image.Labels?.[LABEL_PROJECT] ?? projectOfTag(tag);
    const gone = folderGone(image.Labels ?? {});
    const older = image.Created < (newest.get(projectOfTag(tag)) ?? 0);
    if ((!gone && !older) || inUse.has(image.Id)) continue;
    if (await attempt(tag, () => docker.getImage(tag).remove())) images.push({ name: tag, project, reason: gone ? "project folder gone" : "a newer build exists" });
  }

  // Volumes hold the user's data: only those of projects whose folder is gone, and only when asked.
  const mounted = new Set(all.flatMap((c) => (c.Mounts ?? []).map((m) => m.Name).filter((n): n is string => Boolean(n))));
  const volumes: PrunedItem[] = [];
  const keptVolumes: PrunedItem[] = [];
  for (const v of (await docker.listVolumes({ filters: { label: [LABEL_PROJECT] } })).Volumes ?? []) {
    const labels = v.Labels ?? {};
    if (!isUnder(labels[LABEL_DIR], options.under) || !folderGone(labels) || mounted.has(v.Name)) continue;
    const item = { name: v.Name, project: labels[LABEL_PROJECT]!, reason: "project folder gone" };
    if (!options.volumes) keptVolumes.push(item);
    else if (await attempt(v.Name, () => docker.getVolume(v.Name).remove())) volumes.push(item);
  }
  return { stacks, images, containers, volumes, keptVolumes, failed };
}

/** The folder is on this host (as far as the owner label tells) and no longer exists. */
function folderGone(labels: Record<string, string>): boolean {
  const dir = labels[LABEL_DIR];
  if (!dir) return false;
  const owner = parseOwner(labels[LABEL_OWNER]);
  if (owner && owner.host !== thisHost().host) return false;
  return !existsSync(dir);
}

function projectOfTag(tag: string): string {
  return tag.slice(APP_IMAGE_REPO.length).replace(/:[^:/]*$/, "");
}
