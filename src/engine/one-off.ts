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
  options: { archive?: { stream: NodeJS.ReadableStream; path: string } } = {},
): Promise<OneOffResult> {
  const container = await createContainer(docker, spec);
  if (options.archive) await container.putArchive(options.archive.stream, { path: options.archive.path });
  const lines: string[] = [];
  const stop = await followLogs(docker, container, (line) => {
    lines.push(line);
    logger.info(line);
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // Let the last log lines arrive before the stream is cut.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { exitCode: StatusCode, output: lines.join("\n"), container };
  } finally {
    stop();
  }
}
