import type { Docker } from "./docker.js";
import { LABEL_PROJECT, LABEL_RESTARTS, LABEL_SERVICE, projectFilter } from "./labels.js";

export interface ServiceStatus {
  readonly name: string;
  readonly container: string;
  readonly state: string;
  readonly health: string | null;
  readonly image: string;
  /** Container port → host port on 127.0.0.1. */
  readonly ports: Readonly<Record<string, number>>;
  readonly restarts: number;
}

export async function stackServices(docker: Docker, project: string): Promise<ServiceStatus[]> {
  const list = await docker.listContainers({ all: true, filters: projectFilter(project) });
  return list
    .map((c) => ({
      name: c.Labels[LABEL_SERVICE] ?? c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12),
      container: c.Id.slice(0, 12),
      state: c.State,
      health: /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1] ?? null,
      image: c.Image,
      ports: Object.fromEntries(c.Ports.filter((p) => p.PublicPort).map((p) => [String(p.PrivatePort), p.PublicPort])),
      restarts: Number(c.Labels[LABEL_RESTARTS] ?? 0) || 0,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function findServiceContainer(docker: Docker, project: string, service: string): Promise<string | null> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_PROJECT}=${project}`, `${LABEL_SERVICE}=${service}`] },
  });
  return list[0]?.Id ?? null;
}
