/**
 * One Ctrl-C cycle of the CLI: `prodlike up` in the foreground, SIGINT after `delayMs`, wait
 * for the exit, then count what is left by label. Shared by cycles.test.ts and
 * test/bench/cycles.ts (so no vitest import here).
 */
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { connectEngine } from "../../../src/engine/docker.js";
import { LABEL_PROJECT } from "../../../src/engine/labels.js";

const BIN = join(resolve(import.meta.dirname, "..", "..", ".."), "bin", "prodlike.js");

export interface Leftovers {
  readonly containers: number;
  readonly networks: number;
}

export interface SigintCycle {
  /** Exit code, or the signal name when SIGINT came before prodlike's handler was installed. */
  readonly exit: string;
  /** Whether the stack was up (its summary printed) when SIGINT came. */
  readonly wasUp: boolean;
  readonly ms: number;
  /** Counted as soon as the CLI exited, and once more after the watchdog's 10 s. */
  readonly atExit: Leftovers;
  readonly settled: Leftovers;
  /** Watchdog processes of the exited CLI still running 10 s later (each exits with its owner). */
  readonly watchdogs: number;
  readonly stderrTail: string;
}

export async function countLeftovers(project: string): Promise<Leftovers> {
  const docker = await connectEngine();
  const filters = { label: [`${LABEL_PROJECT}=${project}`] };
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return { containers: containers.length, networks: networks.length };
}

export async function sigintCycle(dir: string, project: string, delayMs: number, options: { timeoutMs?: number } = {}): Promise<SigintCycle> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, "--log-format", "json", "up", dir, "--port", "0", "--http-port", "0", "--no-watch"], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string>((resolvePromise) => child.on("exit", (code, signal) => resolvePromise(code === null ? String(signal) : String(code))));
  const timer = setTimeout(() => child.kill("SIGINT"), delayMs);
  const limit = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 240_000);
  const exit = await exited;
  clearTimeout(timer);
  clearTimeout(limit);
  const wasUp = /is up, as on Render/.test(stdout);
  const atExit = await countLeftovers(project);
  let settled = atExit;
  const deadline = Date.now() + 10_000;
  while ((settled.containers > 0 || settled.networks > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    settled = await countLeftovers(project);
  }
  let watchdogs = await watchdogsOf(child.pid!);
  while (watchdogs > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    watchdogs = await watchdogsOf(child.pid!);
  }
  return { exit, wasUp, ms: Date.now() - started, atExit, settled, watchdogs, stderrTail: stderr.slice(-2000) };
}

/** Running watchdog processes whose owner label names `pid`. */
export async function watchdogsOf(pid: number): Promise<number> {
  let count = 0;
  for (const entry of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (args.some((a) => a.endsWith("watchdog-main.js")) && args.some((a) => a.split(":")[3] === String(pid))) count++;
  }
  return count;
}

/** Deterministic delays from a seed, so a failing run can be replayed. */
export function seededDelays(seed: number, count: number, maxMs: number): number[] {
  let state = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % maxMs;
  });
}
