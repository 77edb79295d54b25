import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { createContainer, type ContainerSpec, followLogs } from "./containers.js";
import type { Docker } from "./docker.js";

export interface OneOffResult {
  readonly exitCode: number;
  readonly output: string;
  readonly container: Dockerode.Container;
}

/**
 * Run a container to completion (a build, a pre-deploy command), streaming its lines to the
 * log. The container is left for the caller (to commit or remove).
 */
export async function runOneOff(
  docker: Docker,
  spec: ContainerSpec,
  logger: Logger,
  options: { archives?: readonly { stream: NodeJS.ReadableStream; path: string }[] } = {},
): Promise<OneOffResult> {
  const container = await createContainer(docker, spec);
  for (const archive of options.archives ?? []) await container.putArchive(archive.stream, { path: archive.path });
  const lines: string[] = [];
  // Following the logs of a container that has not started yet ends at once: start first;
  // the follow still replays every line from the beginning.
  await container.start();
  const stop = await followLogs(docker, container, (line) => {
    lines.push(line);
    logger.info(line);
  });
  try {
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // Let the last log lines arrive before the stream is cut.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { exitCode: StatusCode, output: lines.join("\n"), container };
  } finally {
    stop();
  }
}
