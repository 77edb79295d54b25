/**
 * N consecutive up/down cycles of one project, counting what is left by label after each:
 * the reaper's promise that repeated use leaves nothing behind.
 *
 *   npx tsx test/bench/cycles.ts                 100 cycles of the library API: up() then down()
 *   npx tsx test/bench/cycles.ts --sigint        100 cycles of the CLI `up`, Ctrl-C at random points
 *   CYCLES=20 SEED=7 npx tsx test/bench/cycles.ts --sigint
 *
 * Needs `npm run build` (the CLI and the watchdog run from dist/).
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { resolveStack } from "../../src/config/resolve.js";
import { removeStack } from "../../src/engine/containers.js";
import { connectEngine } from "../../src/engine/docker.js";
import { up } from "../../src/stack.js";
import { countLeftovers, seededDelays, sigintCycle, type Leftovers } from "../integration/cli/cycles-run.js";

const CYCLES = Number(process.env.CYCLES ?? 100);
const SIGINT = process.argv.includes("--sigint");
const SEED = Number(process.env.SEED ?? Date.now() % 100_000);
const MAX_DELAY_MS = Number(process.env.MAX_DELAY_MS ?? 25_000);
const root = resolve(import.meta.dirname, "..", "..");

const parent = await mkdtemp(join(tmpdir(), "prodlike-bench-cycles-"));
const dir = join(parent, "render-supabase");
await cp(join(root, "fixtures", "render-supabase"), dir, { recursive: true, filter: (source) => !source.split("/").includes(".prodlike") });
const { project } = await resolveStack(dir);
const upTimes: number[] = [];
const downTimes: number[] = [];
const dirty: { cycle: number; left: Leftovers }[] = [];
let strayWatchdogs = 0;
const started = Date.now();

try {
  // Warm-up (builds the app image once): not counted.
  const first = await up(dir, { overrides: { httpsPort: 0, httpPort: 0 } });
  await first.down();
  console.log(`${CYCLES} cycles of ${SIGINT ? `CLI up + SIGINT at a random point in 0-${MAX_DELAY_MS / 1000} s (seed ${SEED})` : "up() + down()"} on ${project}`);
  const delays = seededDelays(SEED, CYCLES, MAX_DELAY_MS);
  for (let i = 0; i < CYCLES; i++) {
    let left: Leftovers;
    let line: string;
    if (SIGINT) {
      const cycle = await sigintCycle(dir, project, delays[i]!);
      upTimes.push(cycle.ms);
      left = cycle.settled;
      line = `SIGINT at ${(delays[i]! / 1000).toFixed(1)} s (${cycle.wasUp ? "up" : "starting"}), exit ${cycle.exit}, ${(cycle.ms / 1000).toFixed(1)} s, at exit ${cycle.atExit.containers}c/${cycle.atExit.networks}n, watchdogs left ${cycle.watchdogs}`;
      if (cycle.watchdogs > 0) strayWatchdogs += cycle.watchdogs;
    } else {
      const t0 = performance.now();
      const stack = await up(dir, { overrides: { httpsPort: 0, httpPort: 0 } });
      const t1 = performance.now();
      await stack.down();
      const t2 = performance.now();
      upTimes.push(t1 - t0);
      downTimes.push(t2 - t1);
      left = await countLeftovers(project);
      line = `up ${((t1 - t0) / 1000).toFixed(2)} s, down ${((t2 - t1) / 1000).toFixed(2)} s`;
    }
    if (left.containers + left.networks > 0) dirty.push({ cycle: i + 1, left });
    console.log(`cycle ${String(i + 1).padStart(3)}: ${line}, left ${left.containers}c/${left.networks}n`);
  }
} finally {
  const docker = await connectEngine();
  await removeStack(docker, project, { volumes: true });
  await rm(parent, { recursive: true, force: true });
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (q: number) => ((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000).toFixed(2);
  return `median ${at(0.5)} s, p95 ${at(0.95)} s, max ${at(1)} s`;
};
console.log("");
console.log(`cycles: ${CYCLES}, total ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`  ${SIGINT ? "cycle (up + Ctrl-C + exit)" : "up  "}: ${stats(upTimes)}`);
if (!SIGINT) console.log(`  down: ${stats(downTimes)}`);
console.log(`  cycles with leftovers: ${dirty.length}${dirty.length ? ` (${dirty.map((d) => `#${d.cycle}: ${d.left.containers}c/${d.left.networks}n`).join(", ")})` : ""}`);
if (SIGINT) console.log(`  watchdog processes left after their CLI exited: ${strayWatchdogs}`);
process.exitCode = dirty.length === 0 && strayWatchdogs === 0 ? 0 : 1;
