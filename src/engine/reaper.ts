import { resolve, sep } from "node:path";
import type { Logger } from "pino";
import type { Docker } from "./docker.js";
import { LABEL_DIR, LABEL_OWNER, LABEL_OWNER_PID, LABEL_PROJECT, LABEL_SERVICE } from "./labels.js";
import { ownerVerdict, parseOwner, thisHost, type Owner, type OwnerVerdict } from "./owner.js";

/** The containers and networks of one project made by one owner process. */
export interface StackGroup {
  readonly project: string;
  readonly dir: string | undefined;
  /** The owner's label filter (`prodlike.owner=…`, or `prodlike.owner-pid=…` on older resources); undefined when unlabelled. */
  readonly ownerFilter: string | undefined;
  readonly owner: Owner | null;
  readonly containers: { readonly id: string; readonly name: string; readonly state: string; readonly service: string | undefined }[];
  readonly networks: { readonly id: string; readonly name: string }[];
}

/** What was (or, in a dry run, would be) removed of one stack. */
export interface ReapedStack {
  readonly project: string;
  readonly dir: string | undefined;
  readonly ownerPid: number | undefined;
  readonly containers: readonly string[];
  readonly networks: readonly string[];
}

/** Every prodlike container and network on the engine, grouped by project and owner: two list calls. */
export async function listStacks(docker: Docker): Promise<StackGroup[]> {
  const filters = { label: [LABEL_PROJECT] };
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  const groups = new Map<string, StackGroup>();
  const groupOf = (labels: Record<string, string>): StackGroup => {
    const project = labels[LABEL_PROJECT]!;
    const ownerFilter = ownerFilterOf(labels);
    const key = `${project}\n${ownerFilter ?? ""}`;
    let group = groups.get(key);
    if (!group) {
      group = { project, dir: labels[LABEL_DIR], ownerFilter, owner: ownerOf(labels), containers: [], networks: [] };
      groups.set(key, group);
    }
    return group;
  };
  for (const c of containers) {
    groupOf(c.Labels).containers.push({ id: c.Id, name: c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12), state: c.State, service: c.Labels[LABEL_SERVICE] });
  }
  for (const n of networks) groupOf(n.Labels ?? {}).networks.push({ id: n.Id, name: n.Name });
  return [...groups.values()];
}

/**
 * Remove the containers and networks (never the volumes: they hold the user's data) of every
 * stack whose owner ran on this host and is gone: its pid has no process, or the pid now
 * belongs to a process started at another time. Stacks owned on another host are left alone.
 */
export async function sweepOrphans(docker: Docker, logger: Logger, options: { dryRun?: boolean; under?: string } = {}): Promise<ReapedStack[]> {
  const started = Date.now();
  const dead = (await listStacks(docker)).filter((group) => verdictOf(group) === "dead" && isUnder(group.dir, options.under));
  const reaped: ReapedStack[] = [];
  for (const group of dead) reaped.push(options.dryRun ? describeGroup(group) : await removeGroup(docker, group));
  const ms = Date.now() - started;
  if (reaped.length > 0 && !options.dryRun) {
    logger.info(
      { stacks: reaped.map((r) => ({ project: r.project, pid: r.ownerPid, containers: r.containers.length, networks: r.networks.length })), ms },
      `removed the leftovers of ${reaped.length} stack(s) whose process had died`,
    );
  } else {
    logger.debug({ ms, orphans: reaped.length }, "orphan sweep");
  }
  return reaped;
}

/** Remove the containers, then the networks, of one project made by one owner (`ownerFilter` as in StackGroup). */
export async function reapOwned(docker: Docker, project: string, ownerFilter: string): Promise<ReapedStack> {
  const filters = { label: [`${LABEL_PROJECT}=${project}`, ownerFilter] };
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return removeGroup(docker, {
    project,
    dir: containers[0]?.Labels[LABEL_DIR] ?? networks[0]?.Labels?.[LABEL_DIR],
    ownerFilter,
    owner: parseOwner(ownerFilter.slice(LABEL_OWNER.length + 1)),
    containers: containers.map((c) => ({ id: c.Id, name: c.Names[0]?.replace(/^\//, "") ?? c.Id, state: c.State, service: c.Labels[LABEL_SERVICE] })),
    networks: networks.map((n) => ({ id: n.Id, name: n.Name })),
  });
}

/** alive | dead | foreign, or "unknown" for resources without an owner label. */
export function verdictOf(group: Pick<StackGroup, "owner">): OwnerVerdict | "unknown" {
  return group.owner ? ownerVerdict(group.owner) : "unknown";
}

/** Whether a project folder is inside `under` (always true without `under`). */
export function isUnder(dir: string | undefined, under: string | undefined): boolean {
  if (under === undefined) return true;
  if (dir === undefined) return false;
  const parent = resolve(under);
  return dir === parent || dir.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

async function removeGroup(docker: Docker, group: StackGroup): Promise<ReapedStack> {
  const gone = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;
  const containers = await Promise.all(
    group.containers.map((c) =>
      docker
        .getContainer(c.id)
        .remove({ force: true, v: true })
        .then(() => c.name)
        .catch((err: unknown) => (gone(err) ? c.name : null)),
    ),
  );
  // After the containers: a network with endpoints cannot be removed. One still used by another stack stays.
  const networks = await Promise.all(
    group.networks.map((n) =>
      docker
        .getNetwork(n.id)
        .remove()
        .then(() => n.name)
        .catch((err: unknown) => (gone(err) ? n.name : null)),
    ),
  );
  return { ...describeGroup(group), containers: containers.filter((n) => n !== null).sort(), networks: networks.filter((n) => n !== null).sort() };
}

function describeGroup(group: StackGroup): ReapedStack {
  return { project: group.project, dir: group.dir, ownerPid: group.owner?.pid, containers: group.containers.map((c) => c.name).sort(), networks: group.networks.map((n) => n.name).sort() };
}

function ownerFilterOf(labels: Record<string, string>): string | undefined {
  if (labels[LABEL_OWNER]) return `${LABEL_OWNER}=${labels[LABEL_OWNER]}`;
  if (labels[LABEL_OWNER_PID]) return `${LABEL_OWNER_PID}=${labels[LABEL_OWNER_PID]}`;
  return undefined;
}

/** Resources made before the owner label carry only the pid: taken as owned on this host, start time unknown. */
function ownerOf(labels: Record<string, string>): Owner | null {
  const owner = parseOwner(labels[LABEL_OWNER]);
  if (owner) return owner;
  const pid = Number(labels[LABEL_OWNER_PID]);
  return Number.isInteger(pid) && pid > 0 ? { ...thisHost(), boot: "-", pid, start: "-" } : null;
}
