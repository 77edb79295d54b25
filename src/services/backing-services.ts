import type { Logger } from "pino";
import type { StackDescription } from "../config/types.js";
import { APP_SOURCE_DIR } from "../engine/app-build.js";
import { createContainer, publishedPort, waitReady } from "../engine/containers.js";
import type { Docker } from "../engine/docker.js";
import { containerName } from "../engine/labels.js";
import { runOneOff } from "../engine/one-off.js";
import { ProdlikeError, tailLines } from "../errors.js";
import type { Secrets } from "../state.js";
import { instanceEnv } from "./app-env.js";
import { SERVICES, type ServiceDefinition } from "./definitions.js";

/** Start the backing services in dependency order, in parallel where they are independent. */
export async function startServices(
  docker: Docker,
  description: StackDescription,
  secrets: Secrets,
  images: Record<string, string>,
  labels: Record<string, string>,
  logger: Logger,
  publishAddress = "127.0.0.1",
): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  const started = new Map<string, Promise<void>>();
  const start = (service: ServiceDefinition): Promise<void> => {
    const existing = started.get(service.name);
    if (existing) return existing;
    const promise = (async () => {
      await Promise.all(service.after.map((name) => start(SERVICES.find((s) => s.name === name)!)));
      const container = await createContainer(docker, {
        project: description.project,
        service: service.name,
        name: containerName(description.project, service.name),
        image: images[service.image]!,
        labels,
        env: service.env(description, secrets),
        alias: service.name,
        publish: [service.port],
        publishAddress,
        volumes: service.volume ? { [`prodlike-${description.project}-${service.volume.purpose}`]: service.volume.path } : undefined,
      });
      await container.start();
      const t0 = Date.now();
      await waitReady(container, { what: service.what, timeoutMs: service.readyTimeoutMs });
      ports[service.name] = await publishedPort(container, service.port);
      logger.info({ service: service.name, seconds: ((Date.now() - t0) / 1000).toFixed(1) }, `${service.name} ready`);
    })();
    started.set(service.name, promise);
    return promise;
  };
  await Promise.all(SERVICES.map(start));
  return ports;
}

/** Render's pre-deploy step: a one-off container from the built image; a failure stops the deploy. */
export async function runPreDeploy(
  docker: Docker,
  description: StackDescription,
  image: string,
  env: Record<string, string>,
  labels: Record<string, string>,
  logger: Logger,
): Promise<void> {
  const command = description.app.preDeployCommand!;
  const log = logger.child({ component: "pre-deploy", service: "app" });
  log.info(`pre-deploy: ${command}`);
  const result = await runOneOff(
    docker,
    {
      project: description.project,
      service: "pre-deploy",
      name: containerName(description.project, "pre-deploy"),
      image,
      labels,
      env: { ...env, ...instanceEnv(description) },
      cmd: ["bash", "-c", command],
      workingDir: APP_SOURCE_DIR,
    },
    log,
  );
  await result.container.remove({ force: true }).catch(() => {});
  if (result.exitCode !== 0) {
    throw new ProdlikeError(
      "APP_BUILD_FAILED",
      `the pre-deploy command \`${command}\` failed with exit code ${result.exitCode}; the deploy stops here, as on Render. Last lines:\n${tailLines(result.output, 20)}`,
    );
  }
}
