/**
 * Time from saving a .py file to the first response with the new body, under `up` with watch
 * (median of RUNS edits), side by side with a full restart of the same app measured in the same
 * run (a fresh container from the same image until it answers 200), and their ratio.
 *
 *   npx tsx test/bench/reload.ts
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Agent, fetch } from "undici";
import { createLogger } from "../../src/logger.js";
import { up } from "../../src/stack.js";
import { prodlikeHome } from "../../src/tls/ca.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 3);
const root = resolve(import.meta.dirname, "..", "..");
const parent = await mkdtemp(join(tmpdir(), "prodlike-bench-reload-"));
const dir = join(parent, "render-supabase");
await cp(join(root, "fixtures", "render-supabase"), dir, { recursive: true, filter: (source) => !source.includes("/.prodlike") });
const agent = new Agent({ connect: { ca: await readFile(join(prodlikeHome(), "ca", "ca.pem"), "utf8") } });
const views = join(dir, "notes", "views.py");

const stack = await up(dir, { watch: true, logger: process.env.BENCH_LOG ? createLogger({ format: "json", level: (process.env.BENCH_LOG_LEVEL ?? "info") as "info" }) : undefined, overrides: { httpsPort: 0, httpPort: 0, plan: "starter" } });
try {
  const body = async () => {
    try {
      const response = await fetch(`${stack.url}/`, { dispatcher: agent });
      return { status: response.status, text: await response.text() };
    } catch {
      return { status: 0, text: "" };
    }
  };
  const until = async (done: (r: { status: number; text: string }) => boolean) => {
    for (;;) {
      if (done(await body())) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  const reloads: number[] = [];
  let previous = "render-supabase";
  for (let i = 0; i < RUNS; i++) {
    const marker = `reload-bench-${i}`;
    const text = await readFile(views, "utf8");
    const started = performance.now();
    await writeFile(views, text.replace(`<h1>${previous}</h1>`, `<h1>${marker}</h1>`));
    await until((r) => r.text.includes(`<h1>${marker}</h1>`));
    reloads.push(performance.now() - started);
    previous = marker;
    await new Promise((r) => setTimeout(r, Number(process.env.BENCH_GAP_MS ?? 300))); // a pause between saves, as someone editing makes
  }

  const restarts: number[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    const started = performance.now();
    await stack.app.start();
    await until((r) => r.status === 200);
    restarts.push(performance.now() - started);
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const r = median(reloads);
  const s = median(restarts);
  const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(", ");
  console.log(`save of a .py file to the first response with the new body:`);
  console.log(`  watch reload (median of ${RUNS})     ${(r / 1000).toFixed(2)} s   runs: ${fmt(reloads)}   (target <= 1.00 s)`);
  console.log(`  full container restart (median of ${RESTARTS})  ${(s / 1000).toFixed(2)} s   runs: ${fmt(restarts)}`);
  console.log(`  ratio                              ${(r / s).toFixed(2)}x   (target <= 0.25x)`);
} finally {
  await stack.down({ volumes: true });
  await rm(parent, { recursive: true, force: true });
}
