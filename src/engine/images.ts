import { createHash } from "node:crypto";
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import tar from "tar-fs";
import { ProdlikeError, tailLines } from "../errors.js";
import { ensureBaseImage, run } from "./bootstrap.js";
import type { Docker } from "./docker.js";
import { LABEL_IMAGE_INPUTS } from "./labels.js";
import { IMAGES_DIR, cacheDir } from "./paths.js";
import { Progress, withProgress } from "./progress.js";

export const SERVICE_IMAGES = ["postgres", "pgbouncer", "redis", "minio", "python"] as const;
export type ServiceImage = (typeof SERVICE_IMAGES)[number];

export interface ImageRef {
  readonly name: ServiceImage;
  readonly tag: string;
  readonly built: boolean;
}

/**
 * `prodlike/<name>:<hash of its inputs>`: the Dockerfile folder, the base image id and, for
 * MinIO, the pinned module version. Same inputs, same tag: a second run builds nothing.
 */
export async function imageTag(name: ServiceImage, baseId: string): Promise<string> {
  const hash = createHash("sha256").update(baseId);
  const dir = join(IMAGES_DIR, name);
  for (const file of (await readdir(dir)).sort()) {
    hash.update(file).update(await readFile(join(dir, file)));
  }
  return `prodlike/${name}:${hash.digest("hex").slice(0, 12)}`;
}

export async function ensureImages(docker: Docker, logger: Logger, names: readonly ServiceImage[] = SERVICE_IMAGES): Promise<Record<ServiceImage, string>> {
  const baseId = await ensureBaseImage(docker, logger);
  const refs = await Promise.all(names.map((name) => ensureImage(docker, logger, name, baseId)));
  return Object.fromEntries(refs.map((ref) => [ref.name, ref.tag])) as Record<ServiceImage, string>;
}

export async function ensureImage(docker: Docker, logger: Logger, name: ServiceImage, baseId: string, force = false): Promise<ImageRef> {
  const tag = await imageTag(name, baseId);
  if (!force && (await docker.getImage(tag).inspect().catch(() => null))) return { name, tag, built: false };
  const log = logger.child({ component: "images", image: name });
  const started = Date.now();
  log.info({ tag }, `building image ${name}`);
  const context = await buildContext(name, log);
  try {
    await buildFromContext(docker, log, { name, tag, dir: context.dir });
    log.info({ tag, seconds: ((Date.now() - started) / 1000).toFixed(1) }, `built image ${name}`);
    return { name, tag, built: true };
  } finally {
    await context.dispose();
  }
}

export interface BuildSpec {
  /** The folder under images/ that holds the Dockerfile: named in the error. */
  readonly name: string;
  readonly tag: string;
  /** The build context: images/<name> itself, or a temporary folder with it and what was fetched. */
  readonly dir: string;
  /** What to check when the build fails; by default the engine's way to Debian's mirror. */
  readonly hint?: string;
}

const MIRROR_HINT =
  "If it could not reach Debian's mirror, check the engine's network (`docker run --rm debian:bookworm-slim apt-get update`).";

/** `docker build` of a context folder, tagged and labelled with its inputs; steps logged as they go. */
export async function buildFromContext(docker: Docker, log: Logger, spec: BuildSpec): Promise<void> {
  const { name, tag } = spec;
  const stream: NodeJS.ReadableStream = await docker.buildImage(tar.pack(spec.dir) as unknown as NodeJS.ReadableStream, {
    t: tag,
    labels: { [LABEL_IMAGE_INPUTS]: tag },
    rm: true,
    forcerm: true,
  });
  const output: string[] = [];
  const progress = new Progress(log, `building image ${name}`);
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: { error?: string }[]) => {
        const failure = err?.message ?? events?.find((e) => e.error)?.error;
        if (failure) reject(new Error(failure));
        else resolve();
      },
      (event: { stream?: string; error?: string }) => {
        const line = event.stream?.trimEnd();
        if (!line) return;
        output.push(line);
        progress.line(line);
        const step = /^Step (\d+\/\d+)/.exec(line);
        if (step) {
          progress.step(step[1]!);
          log.info({ step: step[1] }, line.replace(/^Step \d+\/\d+ : /, "").slice(0, 120));
        } else log.debug(line);
      },
    );
  })
    .finally(() => progress.done())
    .catch((err: Error) => {
      throw new ProdlikeError(
        "IMAGE_BUILD_FAILED",
        `building image ${name} (images/${name}/Dockerfile) failed: ${err.message}\n` +
          `${tailLines(output.join("\n"), 25)}\n${spec.hint ?? MIRROR_HINT}`,
        { cause: err },
      );
    });
}

async function buildContext(name: ServiceImage, logger: Logger): Promise<{ dir: string; dispose(): Promise<void> }> {
  const source = join(IMAGES_DIR, name);
  if (name !== "minio") return { dir: source, dispose: async () => {} };
  // MinIO's binary is built on the host from its Go module and added to a temporary context.
  const binary = await ensureMinioBinary(logger);
  const dir = await mkdtemp(join(tmpdir(), "prodlike-minio-context-"));
  for (const file of await readdir(source)) await copyFile(join(source, file), join(dir, file));
  await link(binary, join(dir, "minio")).catch(() => copyFile(binary, join(dir, "minio")));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** `go install github.com/minio/minio@<images/minio/VERSION>` into the cache, once. */
export async function ensureMinioBinary(logger: Logger): Promise<string> {
  const version = (await readFile(join(IMAGES_DIR, "minio", "VERSION"), "utf8")).trim();
  const bin = join(cacheDir(), "minio", version);
  const binary = join(bin, "minio");
  if (await stat(binary).catch(() => null)) return binary;
  await mkdir(bin, { recursive: true });
  logger.info({ version }, "building MinIO from its Go module (a few minutes, once)");
  try {
    // -v names each package as it is built: the progress line shows how far it got.
    await withProgress(logger, `building MinIO ${version}`, (progress) =>
      run("go", ["install", "-v", `github.com/minio/minio@${version}`], { ...process.env, GOBIN: bin, CGO_ENABLED: "0" }, (line) => progress.line(line)),
    );
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new ProdlikeError(
      "IMAGE_BUILD_FAILED",
      missing
        ? "MinIO cannot be pulled here and building it needs Go (1.24+): install Go, then run `prodlike images build` again"
        : `building MinIO ${version} with go install failed:\n${tailLines((err as { output?: string }).output ?? String(err))}`,
      { cause: err },
    );
  }
  return binary;
}
