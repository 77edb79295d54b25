import type { Command } from "commander";
import { BASE_IMAGE, bootstrapBaseImage, ensureBaseImage } from "../engine/bootstrap.js";
import { connectEngine } from "../engine/docker.js";
import { ensureImage, imageTag, SERVICE_IMAGES, type ServiceImage } from "../engine/images.js";
import { ensurePlatformImage } from "../engine/platform-image.js";
import { ProdlikeError } from "../errors.js";
import { makeLogger, type GlobalOptions } from "./context.js";
import { print, table } from "./output.js";

export function registerImages(program: Command, globals: () => GlobalOptions): void {
  const images = program.command("images").description("the base and service images: make, build, list");
  images
    .command("bootstrap")
    .description(`make ${BASE_IMAGE} with debootstrap + docker import when it cannot be pulled (Linux, root)`)
    .option("--force", "make it again even when it exists")
    .action(async (flags: { force?: boolean }) => {
      const docker = await connectEngine();
      const logger = makeLogger(globals());
      if (flags.force) await bootstrapBaseImage(docker, logger);
      const id = await ensureBaseImage(docker, logger);
      print(`${BASE_IMAGE} ${id.slice(7, 19)}`);
    });
  images
    .command("build")
    .description("build the service images and the platform image that are missing (or all, with --force)")
    .argument("[names...]", `any of ${SERVICE_IMAGES.join(", ")}, platform`)
    .option("--force", "rebuild even when an image for the same inputs exists")
    .action(async (names: string[], flags: { force?: boolean }) => {
      const unknown = names.filter((n) => n !== "platform" && !SERVICE_IMAGES.includes(n as ServiceImage));
      if (unknown.length) throw new ProdlikeError("CONFIG_INVALID", `unknown image ${unknown.join(", ")}: choose from ${SERVICE_IMAGES.join(", ")}, platform`);
      const docker = await connectEngine();
      const logger = makeLogger(globals());
      const baseId = await ensureBaseImage(docker, logger);
      const chosen = (names.length ? names.filter((n) => n !== "platform") : SERVICE_IMAGES) as ServiceImage[];
      const refs = await Promise.all(chosen.map((name) => ensureImage(docker, logger, name, baseId, flags.force)));
      for (const ref of refs) print(`${ref.tag}  ${ref.built ? "built" : "up to date"}`);
      // The platform's tag hashes its inputs (prodlike's built code among them): a present one is current.
      if (names.length === 0 || names.includes("platform")) print(`${await ensurePlatformImage(docker, logger, baseId)}  current`);
    });
  images
    .command("ls")
    .description("list prodlike's images and whether each is current")
    .action(async () => {
      const docker = await connectEngine();
      const base = await docker.getImage(BASE_IMAGE).inspect().catch(() => null);
      const rows = [["IMAGE", "STATUS", "SIZE"]];
      rows.push([BASE_IMAGE, base ? "present" : "missing (prodlike images bootstrap)", base ? mb(base.Size) : "-"]);
      for (const name of SERVICE_IMAGES) {
        const tag = base ? await imageTag(name, base.Id) : `prodlike/${name}`;
        const info = base ? await docker.getImage(tag).inspect().catch(() => null) : null;
        rows.push([tag, info ? "current" : "not built (prodlike images build)", info ? mb(info.Size) : "-"]);
      }
      print(table(rows));
    });
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
