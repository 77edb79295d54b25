import type { Command } from "commander";
import { parseDuration } from "../clock.js";
import { ProdlikeError } from "../errors.js";
import type { GlobalOptions } from "./context.js";
import { callControl } from "./control-client.js";
import { print } from "./output.js";

export function registerClock(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("idle")
    .description("act as if a stretch of time passed with no traffic: every idle timer due in it fires, in order")
    .argument("<duration>", "how long, e.g. 16m, 90s, 1h30m")
    .argument("[dir]", "the project folder", ".")
    .addHelpText(
      "after",
      `
What fires, by profile: the pooler's idle drop (Supabase, 10 min), Neon's suspend (5 min),
Render's sleep of a free web service (15 min). Then make the request production would get:
  prodlike idle 16m && curl -k https://127.0.0.1:8443/auth/health/   # the 500 after idle`,
    )
    .action(async (duration: string, dir: string) => {
      let ms: number;
      try {
        ms = parseDuration(duration);
      } catch (err) {
        throw new ProdlikeError("CONFIG_INVALID", (err as Error).message);
      }
      await callControl(dir, "POST", "/clock/advance", { ms });
      print(`idle: ${duration} passed`);
    });
  program
    .command("sleep")
    .description("spin the app down now, as Render does after 15 idle minutes on the free plan")
    .argument("[dir]", "the project folder", ".")
    .action(async (dir: string) => {
      const result = (await callControl(dir, "POST", "/edge/sleep")) as { state: string };
      print(`sleep: the app is ${result.state}; the next request waits for a cold start`);
    });
  program
    .command("wake")
    .description("start the app again now (a fresh container, as a wake on Render)")
    .argument("[dir]", "the project folder", ".")
    .action(async (dir: string) => {
      const result = (await callControl(dir, "POST", "/edge/wake")) as { state: string };
      print(`wake: the app is ${result.state}`);
    });
}
