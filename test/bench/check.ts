/**
 * Wall time of a full `prodlike check` on a fixture, warm (base images and pip cache filled by
 * a first, unmeasured run), with each scenario's duration against its target:
 * the whole check under 2 minutes, each idle-based scenario under 10 s.
 *
 *   npm run bench:check                      fixtures/render-supabase
 *   BENCH_FIXTURE=render-blueprint npm run bench:check
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { table } from "../../src/cli/output.js";
import { resolveStack } from "../../src/config/resolve.js";
import { removeStack } from "../../src/engine/containers.js";
import { connectEngine } from "../../src/engine/docker.js";
import { silentLogger } from "../../src/logger.js";
import { CHECK_PROJECT_SUFFIX, checkTotals, runCheck, SCENARIOS, type CheckReport } from "../../src/scenarios/index.js";

const FIXTURE = process.env.BENCH_FIXTURE ?? "render-supabase";
const TOTAL_TARGET_MS = 120_000;
const IDLE_TARGET_MS = 10_000;
/** Scenarios that fast-forward idle time (sleep, pooler drops): each must stay quick. */
const isIdleBased = (id: string, title: string) => /idle|sleep|cold|suspend/i.test(`${id} ${title}`);

const root = resolve(import.meta.dirname, "..", "..");
const parent = await mkdtemp(join(tmpdir(), "prodlike-bench-check-"));
const dir = join(parent, FIXTURE);
await cp(join(root, "fixtures", FIXTURE), dir, { recursive: true, filter: (source) => !source.split("/").includes(".prodlike") });

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

try {
  process.stderr.write(`warm-up check of ${FIXTURE} (not measured)...\n`);
  await runCheck(dir, { logger: silentLogger() });
  process.stderr.write("measured check...\n");
  const started = performance.now();
  const report: CheckReport = await runCheck(dir, { logger: silentLogger() });
  const wallMs = Math.round(performance.now() - started);

  const rows: string[][] = [["scenario", "status", "time", "target", "ok"]];
  let allOk = true;
  for (const result of report.results) {
    const idle = isIdleBased(result.id, result.title);
    const ok = !idle || result.durationMs < IDLE_TARGET_MS;
    allOk &&= ok;
    rows.push([result.id, result.status, seconds(result.durationMs), idle ? `< ${seconds(IDLE_TARGET_MS)} (idle)` : "", ok ? "yes" : "NO"]);
  }
  const totalOk = wallMs < TOTAL_TARGET_MS;
  allOk &&= totalOk;
  rows.push(["(stack up)", "", report.startupMs === null ? "did not start" : seconds(report.startupMs), "", ""]);
  rows.push(["(whole check)", "", seconds(wallMs), `< ${seconds(TOTAL_TARGET_MS)}`, totalOk ? "yes" : "NO"]);
  const totals = checkTotals(report);
  console.log(`prodlike check ${FIXTURE} (warm), ${SCENARIOS.length} scenarios registered; ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  console.log(table(rows));
  console.log(allOk ? "all targets met" : "some targets missed");
} finally {
  const description = await resolveStack(dir);
  await removeStack(await connectEngine(), `${description.project}-${CHECK_PROJECT_SUFFIX}`, { volumes: true }).catch(() => {});
  await rm(parent, { recursive: true, force: true });
}
