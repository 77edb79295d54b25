import type { Logger } from "pino";
import { removeStack, type ReapResult } from "./containers.js";
import type { Docker } from "./docker.js";
import { LABEL_DIR, LABEL_PROJECT, projectFilter } from "./labels.js";
import { ownerVerdict, type Owner } from "./owner.js";
import { isUnder, listStacks, verdictOf } from "./reaper.js";

export interface StoppedStack {
  readonly project: string;
  readonly dir: string | undefined;
  /** Owner processes that were signalled (SIGTERM, then SIGKILL after the timeout). */
  readonly signalled: readonly number[];
  readonly containers: readonly string[];
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
}

export interface StopAllOptions {
  /** Only stacks whose project folder is inside this one. */
  readonly under?: string;
  readonly volumes?: boolean;
  readonly timeoutMs: number;
  /** Owner pids written in the stacks' state files: trusted for resources too old to carry the owner label. */
  readonly statePid?: (dir: string) => Promise<number | undefined>;
  readonly logger: Logger;
}

/**
 * Stop every prodlike stack on the engine: each live owner on this host gets SIGTERM (it takes
 * its stack down itself), SIGKILL after the timeout; then whatever is left of each project is
 * removed: containers, networks and, with `volumes`, its volumes.
 */
export async function stopAllStacks(docker: Docker, options: StopAllOptions): Promise<StoppedStack[]> {
  const groups = (await listStacks(docker)).filter((g) => isUnder(g.dir, options.under));
  const volumeList = options.volumes ? ((await docker.listVolumes({ filters: { label: [LABEL_PROJECT] } })).Volumes ?? []) : [];
  const volumesOf = new Map<string, { dir: string | undefined; names: string[] }>();
  for (const v of volumeList) {
    const labels = v.Labels ?? {};
    if (!isUnder(labels[LABEL_DIR], options.under)) continue;
    const entry = volumesOf.get(labels[LABEL_PROJECT]!) ?? { dir: labels[LABEL_DIR], names: [] };
    entry.names.push(v.Name);
    volumesOf.set(labels[LABEL_PROJECT]!, entry);
  }

  const owners = new Map<number, { owner: Owner; projects: Set<string> }>();
  for (const group of groups) {
    if (!group.owner || group.owner.pid === process.pid || verdictOf(group) !== "alive") continue;
    // Without a start time the pid may be another process now: signal it only if the state file names it too.
    if (group.owner.start === "-" && (!group.dir || (await options.statePid?.(group.dir)) !== group.owner.pid)) continue;
    const entry = owners.get(group.owner.pid) ?? { owner: group.owner, projects: new Set<string>() };
    entry.projects.add(group.project);
    owners.set(group.owner.pid, entry);
  }
  await stopOwners([...owners.values()].map((o) => o.owner), options.timeoutMs, options.logger);

  const projects = new Map<string, { project: string; dir: string | undefined; signalled: number[]; containers: string[]; networks: string[]; volumes: string[] }>();
  const entryOf = (project: string, dir: string | undefined) => {
    let entry = projects.get(project);
    if (!entry) {
      const signalled = [...owners.values()].filter((o) => o.projects.has(project)).map((o) => o.owner.pid);
      entry = { project, dir, signalled, containers: [], networks: [], volumes: [] };
      projects.set(project, entry);
    }
    return entry;
  };
  for (const group of groups) {
    const entry = entryOf(group.project, group.dir);
    entry.containers.push(...group.containers.map((c) => c.name));
    entry.networks.push(...group.networks.map((n) => n.name));
  }
  for (const [project, v] of volumesOf) entryOf(project, v.dir).volumes.push(...v.names);
  for (const stack of projects.values()) {
    for (const list of [stack.containers, stack.networks, stack.volumes]) list.sort();
    // The owner removed its own stack when signalled; this takes what is left (and what a killed owner could not).
    await removeStackAndWait(docker, stack.project, { volumes: options.volumes });
  }
  return [...projects.values()].sort((a, b) => a.project.localeCompare(b.project));
}

async function stopOwners(owners: readonly Owner[], timeoutMs: number, logger: Logger): Promise<void> {
  const signal = (owner: Owner, name: NodeJS.Signals) => {
    try {
      process.kill(owner.pid, name);
      logger.debug({ pid: owner.pid, signal: name }, "signalled the owner of a stack");
    } catch {
      // gone already
    }
  };
  for (const owner of owners) signal(owner, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  const running = () => owners.filter((o) => ownerVerdict(o) === "alive");
  while (running().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  for (const owner of running()) {
    logger.warn({ pid: owner.pid, seconds: timeoutMs / 1000 }, "the stack's process did not stop in time: killed");
    signal(owner, "SIGKILL");
  }
}

/**
 * removeStack, repeated until nothing of the project is listed: a container that another
 * remover (the owner shutting down, its watchdog) is removing at the same moment makes the
 * engine refuse ours ("removal already in progress") while it is still there.
 */
export async function removeStackAndWait(docker: Docker, project: string, options: { volumes?: boolean; timeoutMs?: number } = {}): Promise<ReapResult> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const first = await removeStack(docker, project, options);
  for (;;) {
    const filters = projectFilter(project);
    const [containers, networks, volumes] = await Promise.all([
      docker.listContainers({ all: true, filters }),
      docker.listNetworks({ filters }),
      options.volumes ? docker.listVolumes({ filters }).then((v) => v.Volumes ?? []) : Promise.resolve([]),
    ]);
    if (containers.length + networks.length + volumes.length === 0 || Date.now() > deadline) return first;
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Its log was kept by the first pass: a platform container still being removed is listed again.
    await removeStack(docker, project, { ...options, keepLog: false });
  }
}
