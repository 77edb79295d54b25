import { spawnSync } from "node:child_process";
import type { Command } from "commander";
import { DEFAULT_PORTS } from "../config/resolve.js";
import { assertPortFree } from "../edge/index.js";
import { BASE_IMAGE } from "../engine/bootstrap.js";
import { resolveAccess } from "../engine/access.js";
import { connectEngine } from "../engine/docker.js";
import { engineSocketPath } from "../engine/platform-container.js";
import { imageTag, SERVICE_IMAGES } from "../engine/images.js";
import { isProdlikeError } from "../errors.js";
import type { GlobalOptions } from "./context.js";
import { print } from "./output.js";

interface Check {
  readonly ok: boolean;
  readonly what: string;
  readonly fix?: string;
  readonly critical?: boolean;
}

export function registerDoctor(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("doctor")
    .description("check what prodlike needs: the engine, images, tools and ports; say how to fix what is missing")
    .action(async () => {
      const checks: Check[] = [];
      const major = Number(process.versions.node.split(".")[0]);
      checks.push({ ok: major >= 20, what: `Node.js ${process.versions.node}`, fix: "install Node.js 20 or newer", critical: true });
      const docker = await connectEngine().catch((err: unknown) => {
        checks.push({ ok: false, what: "Docker engine", fix: isProdlikeError(err) ? err.message : String(err), critical: true });
        return null;
      });
      if (docker) {
        const version = await docker.version();
        checks.push({ ok: true, what: `Docker engine ${version.Version} (API ${version.ApiVersion})` });
        const access = await resolveAccess(docker);
        const reach = {
          local: "stacks' ports published on 127.0.0.1",
          remote: `a remote engine: stacks' ports published on ${access.host} (${access.bindAddress})`,
          network: "prodlike runs in a container of this engine: it joins each stack's network",
        }[access.kind];
        checks.push({ ok: true, what: `reaches stacks: ${reach}; the platform mounts the engine socket ${engineSocketPath()}` });
        const base = await docker.getImage(BASE_IMAGE).inspect().catch(() => null);
        checks.push({ ok: base !== null, what: `base image ${BASE_IMAGE}`, fix: "prodlike images bootstrap (or it is made on the first up)" });
        if (base) {
          for (const name of SERVICE_IMAGES) {
            const tag = await imageTag(name, base.Id);
            const present = await docker.getImage(tag).inspect().catch(() => null);
            checks.push({ ok: present !== null, what: `image ${tag}`, fix: "prodlike images build (or it is built on the first up)" });
          }
        }
      }
      checks.push(tool("debootstrap", ["--version"], "apt-get install debootstrap (needed only to make the base image)"));
      checks.push(tool("go", ["version"], "install Go 1.24+ (needed only to build MinIO once when it cannot be pulled)"));
      checks.push(tool("npm", ["--version"], "install npm (needed once, to fetch Node.js for Linux and prodlike's dependencies for the platform image)"));
      for (const [name, port] of Object.entries(DEFAULT_PORTS)) {
        const free = await portFree(port, name === "https" ? "--port" : "--http-port");
        checks.push({ ok: free, what: `port ${port} (${name}) free on 127.0.0.1`, fix: `free it, or run up with ${name === "https" ? "--port" : "--http-port"} <other|0>` });
      }
      for (const check of checks) print(`${check.ok ? "ok  " : "FAIL"}  ${check.what}${check.ok || !check.fix ? "" : `\n      fix: ${check.fix}`}`);
      process.exitCode = checks.some((c) => !c.ok && c.critical) ? 1 : 0;
    });
}

function tool(command: string, args: string[], fix: string): Check {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return { ok: result.status === 0, what: `${command} ${result.status === 0 ? (result.stdout || result.stderr).split("\n")[0]!.trim() : "not found"}`, fix };
}

/** The same check `up` makes before it builds anything. */
function portFree(port: number, flag: string): Promise<boolean> {
  return assertPortFree(port, flag).then(
    () => true,
    () => false,
  );
}
