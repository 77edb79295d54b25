import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { ProdlikeError, tailLines } from "../errors.js";
import type { Docker } from "./docker.js";
import { withTimeout } from "./docker.js";
import { type Progress, withProgress } from "./progress.js";

export const BASE_IMAGE = process.env.PRODLIKE_BASE_IMAGE ?? "debian:bookworm-slim";
const MIRROR = process.env.PRODLIKE_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";

/**
 * Make sure the base image exists: present, else pulled, else made with debootstrap and
 * `docker import` (no registry needed, only Debian's mirror).
 */
export async function ensureBaseImage(docker: Docker, logger: Logger): Promise<string> {
  const existing = await docker.getImage(BASE_IMAGE).inspect().catch(() => null);
  if (existing) return existing.Id;
  if (await tryPull(docker, BASE_IMAGE)) {
    logger.info({ image: BASE_IMAGE }, "pulled base image");
  } else {
    await bootstrapBaseImage(docker, logger);
  }
  return (await docker.getImage(BASE_IMAGE).inspect()).Id;
}

export async function tryPull(docker: Docker, image: string): Promise<boolean> {
  try {
    const stream = await withTimeout(docker.pull(image), 20_000);
    await withTimeout(
      // Podman answers a failed pull with 200 and an `error` event: that is a failure too.
      new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[] | undefined) => {
          const failed = err ?? events?.find((event) => event.error)?.error;
          if (failed) reject(failed instanceof Error ? failed : new Error(failed));
          else resolve();
        }),
      ),
      600_000,
    );
    return true;
  } catch {
    return false;
  }
}

export async function bootstrapBaseImage(docker: Docker, logger: Logger): Promise<void> {
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    throw new ProdlikeError(
      "BOOTSTRAP_FAILED",
      `${BASE_IMAGE} is not there and cannot be pulled; making it needs debootstrap as root on Linux. ` +
        `Run \`sudo prodlike images bootstrap\` on a Linux machine, or load the image with \`docker load\`.`,
    );
  }
  const root = await mkdtemp(join(tmpdir(), "prodlike-rootfs-"));
  const log = logger.child({ component: "bootstrap" });
  try {
    log.info({ mirror: MIRROR, image: BASE_IMAGE }, "making the base image with debootstrap (about 30 s)");
    const debootstrap = (progress: Progress) => run("debootstrap", ["--variant=minbase", "bookworm", root, MIRROR], undefined, (line) => progress.line(line));
    const output = await withProgress(log, "debootstrap", debootstrap).catch((err: Error & { output?: string }) => {
      const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
      throw new ProdlikeError(
        "BOOTSTRAP_FAILED",
        missing
          ? "debootstrap is not installed: `apt-get install debootstrap`, then run `prodlike images bootstrap` again"
          : `debootstrap failed; its last lines:\n${tailLines(err.output ?? String(err))}`,
        { cause: err },
      );
    });
    log.debug({ lines: output.split("\n").length }, "debootstrap done");
    // Slim it as the official -slim image is: no docs, no recommends, no apt lists.
    await run("bash", ["-c", `rm -rf "${root}"/usr/share/doc/* "${root}"/usr/share/man/* "${root}"/var/lib/apt/lists/* "${root}"/var/cache/apt/*.bin`]);
    await writeFile(join(root, "etc/apt/apt.conf.d/99prodlike-slim"), 'APT::Install-Recommends "false";\n');
    await writeFile(
      join(root, "etc/dpkg/dpkg.cfg.d/prodlike-slim"),
      "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\n",
    );
    const tar = spawn("tar", ["-C", root, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    // The tag inside `repo` (the API allows it): Podman ignores a separate `tag` and would make debian:latest.
    const response = await docker.importImage(tar.stdout, { repo: BASE_IMAGE.includes(":") ? BASE_IMAGE : `${BASE_IMAGE}:latest`, changes: ['CMD ["bash"]'] } as object);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(response, (err) => (err ? reject(err) : resolve())));
    log.info({ image: BASE_IMAGE }, "base image imported");
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Run a command, resolve with its combined output, reject with it attached; `onLine` sees each line as it comes. */
export function run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv, onLine?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
    let output = "";
    const rests: string[] = [];
    // Each stream cut into whole lines: a chunk may end mid-line.
    const collect = (stream: NodeJS.ReadableStream) => {
      const index = rests.push("") - 1;
      stream.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        output += text;
        if (!onLine) return;
        const lines = (rests[index] + text).split("\n");
        rests[index] = lines.pop() ?? "";
        for (const line of lines) onLine(line);
      });
    };
    collect(child.stdout);
    collect(child.stderr);
    child.on("error", reject);
    child.on("close", (code) => {
      for (const rest of rests) if (rest) onLine?.(rest);
      if (code === 0) resolve(output);
      else reject(Object.assign(new Error(`${command} exited with ${code}`), { output }));
    });
  });
}
