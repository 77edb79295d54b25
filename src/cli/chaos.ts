import type { Command } from "commander";
import type { GlobalOptions } from "./context.js";
import { callControl } from "./control-client.js";
import { print, table } from "./output.js";

interface ToxicView {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, unknown>;
}

export function registerChaos(program: Command, _globals: () => GlobalOptions): void {
  const chaos = program
    .command("chaos")
    .description("add and remove faults (toxics) on the db and redis links of a running stack")
    .addHelpText(
      "after",
      `
Toxics: latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down,
idle_drop, max_connections, neon_suspend (db), request_limit, max_request_size (redis).

Examples:
  prodlike chaos add db latency latency=300 jitter=50
  prodlike chaos add db max_connections limit=2 flavor=pgbouncer
  prodlike chaos add redis request_limit limit=100
  prodlike chaos add db down
  prodlike chaos ls
  prodlike chaos rm db latency_downstream
  prodlike chaos reset`,
    );
  chaos
    .command("add")
    .description("add a toxic: <link> <type> [key=value ...]")
    .argument("<link>", "db | redis")
    .argument("<type>", "the toxic's type")
    .argument("[attributes...]", "key=value attributes, e.g. latency=300")
    .option("-n, --name <name>", "its name (default <type>_<stream>)")
    .option("-s, --stream <stream>", "upstream (app → service) | downstream (service → app)", "downstream")
    .option("-t, --toxicity <0..1>", "share of connections it applies to", "1")
    .option("-C, --dir <dir>", "the project folder", ".")
    .action(async (link: string, type: string, pairs: string[], flags: { name?: string; stream: string; toxicity: string; dir: string }) => {
      const attributes = Object.fromEntries(
        pairs.map((pair) => {
          const at = pair.indexOf("=");
          return at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : [pair, "true"];
        }),
      );
      const body = { type, name: flags.name, stream: flags.stream, toxicity: Number(flags.toxicity), attributes };
      const toxic = (await callControl(flags.dir, "POST", `/links/${encodeURIComponent(link)}/toxics`, body)) as ToxicView;
      print(`chaos: added ${toxic.name} (${toxic.type}, ${toxic.stream}) to ${link}`);
    });
  chaos
    .command("rm")
    .description("remove a toxic by name")
    .argument("<link>", "db | redis")
    .argument("<name>", "the toxic's name (see chaos ls)")
    .option("-C, --dir <dir>", "the project folder", ".")
    .action(async (link: string, name: string, flags: { dir: string }) => {
      await callControl(flags.dir, "DELETE", `/links/${encodeURIComponent(link)}/toxics/${encodeURIComponent(name)}`);
      print(`chaos: removed ${name} from ${link}`);
    });
  chaos
    .command("ls")
    .description("list links, their toxics and open connections")
    .option("-C, --dir <dir>", "the project folder", ".")
    .option("-o, --output <format>", "text | json", "text")
    .action(async (flags: { dir: string; output: string }) => {
      const result = (await callControl(flags.dir, "GET", "/links")) as { links: { name: string; listen: unknown; toxics: ToxicView[]; connections: unknown[] }[] };
      if (flags.output === "json") {
        print(JSON.stringify(result, null, 2));
        return;
      }
      const rows = [["LINK", "TOXIC", "TYPE", "STREAM", "TOXICITY", "ATTRIBUTES"]];
      for (const link of result.links) {
        if (link.toxics.length === 0) rows.push([link.name, "-", "-", "-", "-", `${link.connections.length} connection(s)`]);
        for (const toxic of link.toxics) {
          rows.push([link.name, toxic.name, toxic.type, toxic.stream, String(toxic.toxicity), JSON.stringify(toxic.attributes)]);
        }
      }
      print(table(rows));
    });
  chaos
    .command("reset")
    .description("back to production: remove the toxics you added from every link (or one); the profile's own (pooler idle drop, Neon suspend) stay")
    .argument("[link]", "db | redis")
    .option("-C, --dir <dir>", "the project folder", ".")
    .action(async (link: string | undefined, flags: { dir: string }) => {
      await callControl(flags.dir, "POST", link ? `/links/${encodeURIComponent(link)}/reset` : "/reset");
      print(`chaos: reset ${link ?? "all links"}`);
    });
}
