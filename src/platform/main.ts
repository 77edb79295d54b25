/**
 * The platform container's entry: `node dist/platform/main.js`. Reads the stack's platform
 * file, reaches the engine through the mounted socket, runs the platform until SIGTERM (a
 * `down`, a `docker stop`) and stops its parts, the app container included, before it exits.
 */
import { readFile } from "node:fs/promises";
import { socketEngine } from "../engine/docker.js";
import { createLogger } from "../logger.js";
import { PLATFORM_CONFIG_PATH, PLATFORM_SOCKET, type PlatformConfig } from "./config.js";
import { startPlatform } from "./platform.js";

const logger = createLogger({ format: "json", destination: process.stdout });

async function main(): Promise<void> {
  const config = JSON.parse(await readFile(process.env.PRODLIKE_PLATFORM_CONFIG ?? PLATFORM_CONFIG_PATH, "utf8")) as PlatformConfig;
  const docker = socketEngine(process.env.PRODLIKE_PLATFORM_SOCKET ?? PLATFORM_SOCKET);
  const platform = await startPlatform(config, docker, logger);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "platform stopping");
    platform.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // One failed background task (a crash restart, a probe) must not take the stack's front down with it.
  process.on("unhandledRejection", (err) => logger.error({ err }, "a background task failed"));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, "the platform could not start");
  // The host reads this line from the container's log to say why.
  process.stderr.write(`prodlike platform failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
