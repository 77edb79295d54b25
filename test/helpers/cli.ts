import { spawn } from "node:child_process";
import { lookup } from "node:dns";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Agent, fetch as undiciFetch, type Response } from "undici";
import { afterEach, expect } from "vitest";
import { projectName } from "../../src/config/resolve.js";
import { connectEngine } from "../../src/engine/docker.js";
import { LABEL_PROJECT } from "../../src/engine/labels.js";
import { prodlikeHome } from "../../src/tls/ca.js";
import { runProcess, type ProcessResult } from "./run-process.js";

export const REPO = resolve(import.meta.dirname, "..", "..");
const BIN = join(REPO, "bin", "prodlike.js");

export type CliResult = ProcessResult;

/** Run the built CLI as a user would, with a time limit so a hang fails the test. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, "--log-format", "json", ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    timeoutMs: options.timeoutMs ?? 600_000,
    what: `prodlike ${args.join(" ")}`,
  });
}

/** A copy of a fixture in a temp dir, so tests can edit it and stacks never collide. */
export async function copyFixture(name: string): Promise<{ dir: string; project: string; dispose(): Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), "prodlike-it-"));
  const dir = join(parent, name);
  // Never the state of a stack running from the fixture itself (the demo).
  await cp(join(REPO, "fixtures", name), dir, { recursive: true, filter: (source) => !source.split("/").includes(".prodlike") });
  return { dir, project: projectName(dir), dispose: () => rm(parent, { recursive: true, force: true }) };
}

/** Containers, networks and volumes still labelled with the project. */
/**
 * Fresh copies of a fixture for one test file's tests: after each test, the copies it made are
 * taken down with their volumes and deleted.
 */
export function useFixtureCopies(): (name?: string) => Promise<Awaited<ReturnType<typeof copyFixture>>> {
  const made: Awaited<ReturnType<typeof copyFixture>>[] = [];
  afterEach(async () => {
    for (const copy of made.splice(0).reverse()) {
      await runCli(["down", copy.dir, "--volumes"]);
      await copy.dispose();
    }
  });
  return async (name = "render-supabase") => {
    const copy = await copyFixture(name);
    made.push(copy);
    return copy;
  };
}

export async function leftovers(project: string): Promise<{ containers: number; networks: number; volumes: number }> {
  const docker = await connectEngine();
  const filters = { label: [`${LABEL_PROJECT}=${project}`] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length, volumes: volumes.Volumes?.length ?? 0 };
}

let agent: Agent | undefined;

/**
 * fetch through the front, trusting prodlike's local CA (as `curl --cacert` would), and resolving
 * `*.localhost` to 127.0.0.1 as browsers and curl do (the Cloudinary stand-in's delivery URLs).
 */
export async function fetchApp(url: string, init: Parameters<typeof undiciFetch>[1] = {}): Promise<Response> {
  agent ??= new Agent({
    connect: {
      ca: await readFile(join(prodlikeHome(), "ca", "ca.pem"), "utf8"),
      lookup: (hostname, options, callback) =>
        hostname.endsWith(".localhost") ? callback(null, options.all ? [{ address: "127.0.0.1", family: 4 }] : "127.0.0.1", 4) : lookup(hostname, options, callback),
    },
  });
  return undiciFetch(url, { ...init, dispatcher: agent, redirect: "manual" });
}

/** `up -d` output: "up: <url>" then KEY=value lines. */
export function parseUp(stdout: string): { url: string; env: Record<string, string> } {
  const url = /^up: (\S+)$/m.exec(stdout)?.[1];
  if (!url) throw new Error(`no "up: <url>" line in:\n${stdout}`);
  const env = Object.fromEntries([...stdout.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { url, env };
}

export interface FixtureStack {
  readonly fixture: Awaited<ReturnType<typeof copyFixture>>;
  readonly url: string;
  readonly env: Record<string, string>;
  /** What `up -d` logged (JSON lines): the build, the pre-deploy. */
  readonly log: string;
}

/** `prodlike up -d` on a fresh copy of a fixture (free ports), with extra files written first. */
export async function upFixture(name: string, args: readonly string[] = [], files: Readonly<Record<string, string>> = {}): Promise<FixtureStack> {
  const fixture = await copyFixture(name);
  for (const [file, text] of Object.entries(files)) await writeFile(join(fixture.dir, file), text);
  const result = await runCli(["up", "-d", fixture.dir, "--port", "0", "--http-port", "0", ...args]);
  if (result.code !== 0) {
    await runCli(["down", fixture.dir, "--volumes"]);
    await fixture.dispose();
    throw new Error(`up failed:\n${result.stderr.slice(-3000)}`);
  }
  return { fixture, ...parseUp(result.stdout), log: result.stderr };
}

/** The platform container's log (the edge, links, app instance: JSON lines), parsed. */
export async function platformLog(dir: string): Promise<{ time: number; msg: string; [key: string]: unknown }[]> {
  const result = await runCli(["logs", dir, "platform", "--tail", "5000"]);
  return result.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { time: number; msg: string });
}

/** `prodlike down --volumes`, then nothing labelled with the stack may be left. */
export async function downFixture(stack: { fixture: FixtureStack["fixture"] } | undefined): Promise<void> {
  if (!stack) return;
  const down = await runCli(["down", stack.fixture.dir, "--volumes"]);
  expect(down.code, down.stderr).toBe(0);
  expect(await leftovers(stack.fixture.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  await stack.fixture.dispose();
}

/**
 * A foreground `prodlike up` (the owner of its stack) on a fresh copy of a fixture, free ports,
 * no watch; resolves once the stack runs. The caller kills or signals `child`.
 */
export async function upForeground(
  name: string,
  options: { env?: NodeJS.ProcessEnv; watch?: boolean; args?: readonly string[] } = {},
): Promise<{ fixture: FixtureStack["fixture"]; child: ReturnType<typeof spawn>; url: string; output: () => string }> {
  const fixture = await copyFixture(name);
  const args = ["--log-format", "json", "up", fixture.dir, "--port", "0", "--http-port", "0", ...(options.watch ? [] : ["--no-watch"]), ...(options.args ?? [])];
  const env = options.env ?? {};
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));
  const deadline = Date.now() + 600_000;
  for (;;) {
    const state = JSON.parse(await readFile(join(fixture.dir, ".prodlike", "state.json"), "utf8").catch(() => "{}")) as { status?: string; pid?: number; urls?: { app: string } };
    if (state.status === "running" && state.pid === child.pid) return { fixture, child, url: state.urls!.app, output: () => output };
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("running"), 300))]);
    if (code !== "running" || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`prodlike up did not come up (${code === "running" ? "timed out" : `exit ${code}`}):\n${output.slice(-3000)}`);
    }
  }
}
