import type { Command } from "commander";
import { connectEngine } from "../engine/docker.js";
import { stackServices } from "../engine/inspect.js";
import { stackAlive } from "../stack.js";
import { locate, type GlobalOptions } from "./context.js";
import { callControl } from "./control-client.js";
import { print, table } from "./output.js";

interface LinkView {
  name: string;
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  connections: unknown[];
  toxics: { name: string; type: string }[];
}

export function registerStatus(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("status")
    .description("show a stack: its services, their states, URLs and ports")
    .argument("[dir]", "the project folder", ".")
    .option("-o, --output <format>", "text | json", "text")
    .action(async (dir: string, flags: { output: string }) => {
      const where = await locate(dir);
      const docker = await connectEngine();
      const services = await stackServices(docker, where.project);
      const state = where.state;
      const owner = state && state.status !== "failed" && (await stackAlive(docker, state.project, state.pid, state.detached)) ? state : null;
      // The last `up` failed and left nothing: say why, not just "stopped".
      const failure = !owner && services.length === 0 && state?.status === "failed" ? (state.error ?? "no reason recorded") : null;
      const status = owner?.status ?? (services.length > 0 ? "orphaned" : failure !== null ? "failed" : "stopped");
      const links = owner
        ? ((await callControl(dir, "GET", "/links").catch(() => null)) as { links: LinkView[] } | null)?.links ?? null
        : null;
      const report = {
        project: where.project,
        dir: where.dir,
        status,
        error: failure,
        pid: owner && !owner.detached ? owner.pid : null,
        detached: owner?.detached ?? false,
        urls: owner?.urls ?? null,
        env: owner?.hostEnv ?? null,
        services,
        links,
      };
      if (flags.output === "json") {
        print(JSON.stringify(report, null, 2));
        return;
      }
      print(`${where.project}  ${status}${owner ? (owner.detached ? " (detached)" : ` (pid ${owner.pid})`) : ""}  ${where.dir}`);
      if (owner?.urls) print(`app: ${owner.urls.app}   http: ${owner.urls.http}`);
      if (failure !== null) print(`failed: ${failure}`);
      if (status === "orphaned") print("its owning process is gone: `prodlike down` removes what is left");
      if (services.length > 0) {
        print("");
        print(
          table([
            ["SERVICE", "STATE", "HEALTH", "RESTARTS", "PORTS (127.0.0.1)", "CONTAINER"],
            ...services.map((s) => [
              s.name,
              s.state,
              s.health ?? "-",
              String(s.restarts),
              Object.entries(s.ports).map(([c, h]) => `${h}→${c}`).join(" ") || "-",
              s.container,
            ]),
          ]),
        );
      }
      if (links) {
        print("");
        print(
          table([
            ["LINK", "LISTEN", "UPSTREAM", "CONNECTIONS", "TOXICS"],
            ...links.map((l) => [
              l.name,
              `${l.listen.host}:${l.listen.port}`,
              `${l.upstream.host}:${l.upstream.port}`,
              String(l.connections.length),
              l.toxics.map((t) => `${t.name} (${t.type})`).join(", ") || "-",
            ]),
          ]),
        );
      }
    });
}
