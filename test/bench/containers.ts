import { createHash } from "node:crypto";
import { copyFile, cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type Dockerode from "dockerode";
import tar from "tar-fs";
import { projectName } from "../../src/config/resolve.js";
import { removeStack } from "../../src/engine/containers.js";
import type { Docker } from "../../src/engine/docker.js";
import { LABEL_IMAGE_INPUTS, LABEL_PROJECT, LABEL_SERVICE, networkName, stackLabels } from "../../src/engine/labels.js";
import { cleanups, within } from "./shared.js";

/** The containers both benches (link.ts, edge.ts) start and look up: bench images, helpers, the stack's services. */
const BASE_IMAGE = "debian:bookworm-slim";
const root = resolve(import.meta.dirname, "..", "..");

/**
 * A fresh copy of a fixture for one bench run, and its project name. The copy goes at cleanup,
 * and so does whatever carries the project's label (containers, network, volumes): if `up` itself
 * never returns, the deadline still removes what it started.
 */
export async function benchProject(docker: Docker, bench: string, fixture: string): Promise<{ dir: string; project: string }> {
  const parent = await mkdtemp(join(tmpdir(), `prodlike-bench-${bench}-`));
  const dir = join(parent, fixture);
  await cp(join(root, "fixtures", fixture), dir, { recursive: true, filter: (path) => !path.split("/").includes(".prodlike") });
  cleanups.push(() => rm(parent, { recursive: true, force: true }));
  const project = projectName(dir);
  cleanups.push(() => removeStack(docker, project, { volumes: true, keepLog: false }));
  return { dir, project };
}

/** `prodlike-bench/<name>:<hash of base image, images/<name>/ and the extra files>`, built when missing. */
export async function benchImage(docker: Docker, name: string, extra: Readonly<Record<string, string>> = {}): Promise<string> {
  const source = join(root, "images", name);
  const base = await docker.getImage(BASE_IMAGE).inspect();
  const hash = createHash("sha256").update(base.Id);
  for (const file of (await readdir(source)).sort()) hash.update(file).update(await readFile(join(source, file)));
  for (const [file, path] of Object.entries(extra)) hash.update(file).update(await readFile(path));
  const tag = `prodlike-bench/${name}:${hash.digest("hex").slice(0, 12)}`;
  if (await docker.getImage(tag).inspect().catch(() => null)) return tag;
  console.error(`building ${tag} (apt-get from Debian's mirror, once)`);
  const context = await mkdtemp(join(tmpdir(), `prodlike-bench-${name}-`));
  try {
    await cp(source, context, { recursive: true });
    for (const [file, path] of Object.entries(extra)) await copyFile(path, join(context, file));
    const stream = await docker.buildImage(tar.pack(context) as unknown as NodeJS.ReadableStream, { t: tag, labels: { [LABEL_IMAGE_INPUTS]: tag }, rm: true, forcerm: true });
    const output: string[] = [];
    await within(
      600_000,
      `building ${tag}`,
      new Promise<void>((resolvePromise, reject) =>
        docker.modem.followProgress(
          stream,
          (err: Error | null, events: { error?: string }[]) => {
            const failure = err?.message ?? events?.find((e) => e.error)?.error;
            if (failure) reject(new Error(`building ${tag} failed: ${failure}\n${output.slice(-20).join("\n")}`));
            else resolvePromise();
          },
          (event: { stream?: string }) => event.stream && output.push(event.stream.trimEnd()),
        ),
      ),
    );
    return tag;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

// ---- containers the bench starts: labelled with the stack, so its down() and reaper see them --

export interface HelperSpec {
  readonly project: string;
  readonly dir: string;
  readonly service: string;
  readonly image: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly alias?: string;
  readonly extraHosts?: readonly string[];
  /** In the host's network namespace instead of the stack's network. */
  readonly hostNetwork?: boolean;
  /** Published on 127.0.0.1, on free ports. */
  readonly publish?: readonly number[];
}

export async function startHelper(docker: Docker, spec: HelperSpec): Promise<Dockerode.Container> {
  const name = `prodlike-${spec.project}-${spec.service}`;
  await docker.getContainer(name).remove({ force: true }).catch(() => {});
  const network = networkName(spec.project);
  const container = await docker.createContainer({
    name,
    Image: spec.image,
    Entrypoint: spec.entrypoint ? [...spec.entrypoint] : undefined,
    Cmd: spec.cmd ? [...spec.cmd] : undefined,
    Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
    Labels: { ...stackLabels(spec.project, spec.dir), [LABEL_SERVICE]: spec.service },
    ExposedPorts: Object.fromEntries((spec.publish ?? []).map((port) => [`${port}/tcp`, {}])),
    HostConfig: {
      NetworkMode: spec.hostNetwork ? "host" : network,
      ExtraHosts: spec.extraHosts ? [...spec.extraHosts] : undefined,
      PortBindings: Object.fromEntries((spec.publish ?? []).map((port) => [`${port}/tcp`, [{ HostIp: "127.0.0.1", HostPort: "" }]])),
    },
    NetworkingConfig: spec.hostNetwork ? undefined : { EndpointsConfig: { [network]: { Aliases: spec.alias ? [spec.alias] : [] } } },
  });
  cleanups.push(() => container.remove({ force: true }).catch(() => {}));
  await container.start();
  return container;
}

/** A service container of the stack, by its labels. */
export async function serviceContainer(docker: Docker, project: string, service: string): Promise<Dockerode.ContainerInspectInfo> {
  const [found] = await docker.listContainers({ filters: { label: [`${LABEL_PROJECT}=${project}`, `${LABEL_SERVICE}=${service}`], status: ["running"] } });
  if (!found) throw new Error(`no running "${service}" container labelled with project ${project}`);
  return docker.getContainer(found.Id).inspect();
}

export function addressOn(info: Dockerode.ContainerInspectInfo, network: string): string {
  const ip = info.NetworkSettings.Networks[network]?.IPAddress;
  if (!ip) throw new Error(`${info.Name} has no address on ${network}`);
  return ip;
}

export function hostPort(info: Dockerode.ContainerInspectInfo, port: number): number | undefined {
  const binding = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0];
  return binding ? Number(binding.HostPort) : undefined;
}
