import { randomBytes } from "node:crypto";
import { rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { demux } from "../../../src/engine/containers.js";
import { connectEngine, type Docker } from "../../../src/engine/docker.js";
import { LABEL_IMAGE_INPUTS, LABEL_PROJECT } from "../../../src/engine/labels.js";
import { PACKAGE_ROOT } from "../../../src/engine/paths.js";
import { PLATFORM_NODE_VERSION, ensurePlatformImage } from "../../../src/engine/platform-image.js";
import { silentLogger } from "../../../src/logger.js";
import { countByLabel } from "./helpers.js";

// What the platform's code needs at run time, loaded the way dist/ loads it (ES modules from /opt/prodlike),
// plus a PNG rendered by sharp's native libvips for the engine's arch.
const PROBE = `
const sharp = (await import("sharp")).default;
const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: "#c00" } }).png().toBuffer();
const meta = await sharp(png).metadata();
const Docker = (await import("dockerode")).default;
const { pino } = await import("pino");
const labels = await import("/opt/prodlike/dist/engine/labels.js");
console.log(JSON.stringify({
  node: process.version,
  png: { signature: png.subarray(1, 4).toString(), format: meta.format, width: meta.width, height: meta.height },
  dockerode: typeof new Docker({ socketPath: "/nonexistent.sock" }).listContainers,
  pino: typeof pino({ level: "silent" }).info,
  dist: labels.LABEL_PROJECT,
}));
`;

/** The platform image on the real engine: Node.js and the dependencies for the engine's arch, prodlike's dist/. */
describe("platform image", () => {
  let docker: Docker;
  const project = `platform-image-${randomBytes(3).toString("hex")}`;
  const extraImages: string[] = [];

  beforeAll(async () => {
    docker = await connectEngine();
    const dist = await stat(join(PACKAGE_ROOT, "dist")).catch(() => null);
    expect(dist, "dist/ exists (run `npm run build` first)").not.toBeNull();
  });

  afterAll(async () => {
    for (const tag of extraImages) {
      await docker.getImage(tag).remove().catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw err;
      });
    }
    expect(await countByLabel(project, docker)).toEqual({ containers: 0, networks: 0 });
  });

  async function runInImage(tag: string, cmd: readonly string[]): Promise<{ code: number; output: string }> {
    const container = await docker.createContainer({
      Image: tag,
      Entrypoint: ["node"],
      Cmd: [...cmd],
      Labels: { [LABEL_PROJECT]: project },
    });
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return { code: StatusCode, output: demux(logs).trim() };
    } finally {
      await container.remove({ force: true });
    }
  }

  it("runs Node.js 22 and loads sharp (rendering a PNG), dockerode, pino and dist/", async () => {
    const started = Date.now();
    const tag = await ensurePlatformImage(docker, silentLogger());
    console.log(`ensurePlatformImage (first call in this run): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(tag).toMatch(/^prodlike\/platform:[0-9a-f]{12}$/);
    const info = await docker.getImage(tag).inspect();
    expect(info.Config.Labels?.[LABEL_IMAGE_INPUTS]).toBe(tag);
    expect(info.Config.Entrypoint).toEqual(["node", "/opt/prodlike/dist/platform/main.js"]);
    console.log(`platform image ${tag}: ${(info.Size / 1e6).toFixed(0)} MB`);

    const version = await runInImage(tag, ["--version"]);
    expect(version).toEqual({ code: 0, output: `v${PLATFORM_NODE_VERSION}` });

    const probe = await runInImage(tag, ["--input-type=module", "-e", PROBE]);
    expect(probe.code, probe.output).toBe(0);
    expect(JSON.parse(probe.output)).toEqual({
      node: `v${PLATFORM_NODE_VERSION}`,
      png: { signature: "PNG", format: "png", width: 4, height: 3 },
      dockerode: "function",
      pino: "function",
      dist: LABEL_PROJECT,
    });
  });

  it("builds nothing the second time", async () => {
    const first = await ensurePlatformImage(docker, silentLogger());
    const build = vi.spyOn(docker, "buildImage");
    const started = Date.now();
    try {
      expect(await ensurePlatformImage(docker, silentLogger())).toBe(first);
      console.log(`ensurePlatformImage (image present): ${Date.now() - started} ms`);
      expect(build).not.toHaveBeenCalled();
    } finally {
      build.mockRestore();
    }
  });

  it("after a change in dist/, builds a new tag that shares every layer but the dist one", async () => {
    const before = await ensurePlatformImage(docker, silentLogger());
    const marker = join(PACKAGE_ROOT, "dist", `.platform-image-test-${project}`);
    await writeFile(marker, project);
    let after: string;
    const started = Date.now();
    try {
      after = await ensurePlatformImage(docker, silentLogger());
    } finally {
      await rm(marker, { force: true });
    }
    extraImages.push(after);
    console.log(`ensurePlatformImage after a dist/ change: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(after).not.toBe(before);
    const [old, next] = await Promise.all([docker.getImage(before).inspect(), docker.getImage(after).inspect()]);
    const oldLayers = old.RootFS.Layers ?? [];
    const newLayers = next.RootFS.Layers ?? [];
    expect(newLayers).toHaveLength(oldLayers.length);
    expect(newLayers.slice(0, -1)).toEqual(oldLayers.slice(0, -1));
    expect(newLayers.at(-1)).not.toBe(oldLayers.at(-1));
  });
});
