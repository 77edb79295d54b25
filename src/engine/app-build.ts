import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import tar from "tar-fs";
import { ProdlikeError, tailLines } from "../errors.js";
import type { Docker } from "./docker.js";
import { containerName, LABEL_IMAGE_INPUTS } from "./labels.js";
import { withProgress } from "./progress.js";
import { runOneOff } from "./one-off.js";
import { raisedAt } from "../watch/failure-location.js";

export const APP_SOURCE_DIR = "/opt/render/project/src";
export const PIP_CACHE_VOLUME = "prodlike-pip-cache";
export const PIP_CACHE_DIR = "/opt/render/.cache/pip";
/** The `render` user of the python image: the app runs as it and owns its sources. */
export const RENDER_UID = 1000;

/** What never ships in a Render checkout (used when the project is not a git repository). */
const IGNORED = new Set([".git", ".prodlike", "node_modules", ".venv", "venv", "env", "__pycache__", ".mypy_cache", ".pytest_cache", ".env", "staticfiles", ".DS_Store"]);

export interface AppBuildOptions {
  readonly project: string;
  readonly dir: string;
  readonly pythonImage: string;
  readonly buildCommand: string;
  readonly buildCommandSource: string;
  readonly env: Readonly<Record<string, string>>;
  /** Changes whenever the build must run again though the sources did not (a fresh database). */
  readonly salt: string;
  readonly labels: Readonly<Record<string, string>>;
  /** prodlike's CA, placed in the image at APP_CA_FILE so the app can trust the links' TLS. */
  readonly caPem?: string;
  readonly logger: Logger;
  /**
   * The image repository, default `prodlike-app/<project>`. The stack passes the folder's
   * project, so the instances of one folder (and `prodlike check`'s stack) find each other's builds.
   */
  readonly repository?: string;
}

const APP_CA_PARENT = "/opt/render";
export const APP_CA_FILE = `${APP_CA_PARENT}/.prodlike/ca.pem`;

/**
 * Build the app as Render does: the sources in a build container on the stack's network (the
 * build command may run migrate), then the container committed as the runtime image.
 * Skipped when an image for the same sources, command, env and salt exists.
 */
export async function buildApp(docker: Docker, options: AppBuildOptions): Promise<{ image: string; built: boolean }> {
  const files = await listSourceFiles(options.dir);
  const key = await buildKey(options, files);
  const image = `${options.repository ?? `prodlike-app/${options.project}`}:${key}`;
  // Stacks of one folder started at once in this process share one build of the same inputs:
  // two would each commit, and the second commit would take the tag from the first's image.
  const running = buildsInFlight.get(image);
  if (running) return { image: (await running).image, built: false };
  const build = buildOnce(docker, options, files, image, key);
  buildsInFlight.set(image, build);
  try {
    return await build;
  } finally {
    buildsInFlight.delete(image);
  }
}

const buildsInFlight = new Map<string, Promise<{ image: string; built: boolean }>>();

async function buildOnce(docker: Docker, options: AppBuildOptions, files: string[], image: string, key: string): Promise<{ image: string; built: boolean }> {
  if (await docker.getImage(image).inspect().catch(() => null)) return { image, built: false };

  const log = options.logger.child({ component: "build", service: "app" });
  const started = Date.now();
  log.info({ command: options.buildCommand }, `build: ${options.buildCommand}`);
  const wanted = new Set(files);
  const folders = new Set(files.flatMap((file) => file.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"))));
  const archive = tar.pack(options.dir, {
    ignore: (name) => {
      const rel = relative(options.dir, name);
      return rel !== "" && !wanted.has(rel) && !folders.has(rel);
    },
    map: (header) => ({ ...header, uid: RENDER_UID, gid: RENDER_UID }),
  }) as unknown as NodeJS.ReadableStream;
  const hostCa = await hostCaArchive();
  const caFile = options.caPem ? await fileArchive(".prodlike/ca.pem", options.caPem) : null;
  // The build's own lines stream above it; the progress line says it is still going (pip can be silent a while).
  const result = await withProgress(log, "build", () =>
    runOneOff(
      docker,
      {
        project: options.project,
        service: "build",
        name: containerName(options.project, "build"),
        image: options.pythonImage,
        labels: options.labels,
        env: hostCa ? { ...options.env, PIP_CERT: `${HOST_CA_DIR}/${HOST_CA_FILE}` } : options.env,
        cmd: ["bash", "-c", options.buildCommand],
        workingDir: APP_SOURCE_DIR,
        volumes: { [PIP_CACHE_VOLUME]: PIP_CACHE_DIR },
      },
      log,
      {
        archives: [
          { stream: archive, path: APP_SOURCE_DIR },
          ...(hostCa ? [{ stream: hostCa.stream, path: HOST_CA_DIR }] : []),
          ...(caFile ? [{ stream: caFile.stream, path: APP_CA_PARENT }] : []),
        ],
      },
    ),
  );
  await hostCa?.dispose();
  await caFile?.dispose();
  try {
    if (result.exitCode !== 0) {
      throw new ProdlikeError("APP_BUILD_FAILED", explainBuildFailure(options, result.exitCode, result.output));
    }
    await result.container.commit({ repo: image.split(":")[0], tag: key, changes: [`LABEL ${LABEL_IMAGE_INPUTS}=${key}`] } as object);
    log.info({ seconds: ((Date.now() - started) / 1000).toFixed(1), image }, "build succeeded");
    return { image, built: true };
  } finally {
    await result.container.remove({ force: true }).catch(() => {});
  }
}

const HOST_CA_DIR = "/tmp";
const HOST_CA_FILE = "prodlike-host-ca.crt";
const HOST_CA_CANDIDATES = [
  process.env.PIP_CERT,
  process.env.REQUESTS_CA_BUNDLE,
  process.env.SSL_CERT_FILE,
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];

/**
 * The host's CA bundle, for pip in the build. Behind a TLS-inspecting proxy (corporate
 * networks, some CI) the host trusts a CA that Debian's bundle in the image does not, and pip
 * could not reach PyPI without it. Only the build gets it (as PIP_CERT), not the app.
 */
async function hostCaArchive(): Promise<{ stream: NodeJS.ReadableStream; dispose(): Promise<void> } | null> {
  for (const candidate of HOST_CA_CANDIDATES) {
    if (!candidate) continue;
    const text = await readFile(candidate).catch(() => null);
    if (!text) continue;
    return fileArchive(HOST_CA_FILE, text);
  }
  return null;
}

/** A one-file tar owned by the render user. Only the file: a folder entry would reset the target's mode. */
async function fileArchive(name: string, content: string | Buffer): Promise<{ stream: NodeJS.ReadableStream; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "prodlike-file-"));
  await mkdir(join(dir, name, ".."), { recursive: true });
  await writeFile(join(dir, name), content);
  const stream = tar.pack(dir, { entries: [name], map: (header) => ({ ...header, uid: RENDER_UID, gid: RENDER_UID }) }) as unknown as NodeJS.ReadableStream;
  return { stream, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export function explainBuildFailure(options: Pick<AppBuildOptions, "buildCommand" | "buildCommandSource">, exitCode: number, output: string): string {
  const head = `the build command \`${options.buildCommand}\` (${options.buildCommandSource}) failed with exit code ${exitCode}.`;
  const pip = /ERROR: (Could not find a version that satisfies the requirement [^\n]+|No matching distribution found for [^\n]+|Could not open requirements file[^\n]*|Invalid requirement[^\n]*)/.exec(output);
  let fix: string;
  if (pip) fix = `pip says: ${pip[1]}\nFix that line in requirements.txt (package name and version), then run up again.`;
  else if (/build\.sh: Permission denied/.test(output)) fix = "build.sh is not executable: run `chmod +x build.sh` (and commit the mode: `git update-index --chmod=+x build.sh`).";
  else if (/: command not found/.test(output)) fix = `a command was not found: ${/[^\n]*: command not found/.exec(output)?.[0]}. Install it in the build (requirements.txt) or fix the build command.`;
  else if (/could not connect to server|Connection refused|OperationalError/.test(output)) fix = "the build could not use the database: the build command runs with DATABASE_URL set to the stack's pooler; check the settings read it.";
  else fix = "Read the lines above, fix the cause and run up again.";
  const where = raisedAt(output, APP_SOURCE_DIR);
  return `${head}\nLast lines of the build:\n${tailLines(output, 20)}\n${where ? `${where}.\n` : ""}${fix}`;
}

/** The files a Render checkout would have: git's view when it is a repository, else a walk. */
export async function listSourceFiles(dir: string): Promise<string[]> {
  const git = await promisify(execFile)("git", ["-C", dir, "ls-files", "-co", "--exclude-standard", "-z"], { maxBuffer: 64 * 1024 * 1024 })
    .then((r) => r.stdout.split("\0").filter(Boolean))
    .catch(() => null);
  const inRepoRoot = git !== null && (await stat(join(dir, ".git")).catch(() => null)) !== null;
  if (git && inRepoRoot) return git.filter((f) => !f.split("/").some((part) => part === ".prodlike")).sort();
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      if (IGNORED.has(entry.name) || entry.name.endsWith(".pyc")) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (await stat(join(dir, path, "pyvenv.cfg")).catch(() => null)) continue;
        await walk(path);
      } else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
    }
  };
  await walk("");
  return out.sort();
}

/**
 * Build commands that only install packages: they read no app setting and touch none of the
 * stack's services, so their result depends on the sources alone and is shared by every stack
 * of the folder. Any other command (build.sh, collectstatic, migrate) may write to the
 * stack's database or storage, so its image is the stack's own and is rebuilt for a fresh one.
 */
const INSTALL_ONLY = /^\s*(?:pip3?|python3? -m pip) install (?:-r|--requirement) requirements\.txt\s*$/;

export function isInstallOnly(buildCommand: string): boolean {
  return INSTALL_ONLY.test(buildCommand);
}

/**
 * What the build's result depends on. The env's names are always in it (the committed image
 * keeps the build's env, and the app's env replaces every one of those keys at run time);
 * its values and the salt only when the command may use them (see INSTALL_ONLY).
 */
export function buildKeyInputs(options: Pick<AppBuildOptions, "pythonImage" | "buildCommand" | "salt" | "env" | "caPem">): string[] {
  const env = Object.entries(options.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const shared = isInstallOnly(options.buildCommand);
  const used = shared ? env.filter(([key]) => key.startsWith("PIP_")) : env;
  return [
    options.pythonImage,
    options.buildCommand,
    options.caPem ?? "",
    shared ? "" : options.salt,
    JSON.stringify(env.map(([key]) => key)),
    JSON.stringify(used),
  ];
}

async function buildKey(options: AppBuildOptions, files: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const input of buildKeyInputs(options)) hash.update(input).update("\0");
  for (const file of files) {
    const path = join(options.dir, file);
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    hash.update(file).update(String(info.mode & 0o111));
    if (info.size < 4 * 1024 * 1024) hash.update(await readFile(path));
    else hash.update(`${info.size}:${info.mtimeMs}`);
  }
  return hash.digest("hex").slice(0, 16);
}
