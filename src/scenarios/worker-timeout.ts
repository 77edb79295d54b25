import { setTimeout as delay } from "node:timers/promises";
import { estimateDbLatency, type DbLatency } from "./db-latency.js";
import { describeProbe, exercise, matchingLines, seconds } from "./exercise.js";
import { readGunicornConfig, type GunicornConfig } from "./gunicorn-config.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

export const FIX =
  "Make the slow endpoint do fewer database round trips (select_related/prefetch_related, one query instead of one per row) " +
  'or move the work to a background job; raise gunicorn\'s timeout (GUNICORN_CMD_ARGS="--timeout 120") only if it really must take that long.';

const TOXIC_NAME = "prodlike_check_db_latency";
const WORKER_TIMEOUT = /\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/;
/** Past gunicorn's timeout, the arbiter notices within a second or two and kills the worker. */
const KILL_GRACE_MS = 5_000;
/** How long to wait for gunicorn to boot the killed worker's replacement. */
const SETTLE_MS = 8_000;

export interface WorkerTimeoutFacts {
  readonly gunicorn: GunicornConfig;
  readonly latency: DbLatency;
  readonly probes: readonly Probe[];
  readonly timeoutLines: readonly string[];
  readonly errorLines: readonly string[];
}

export function workerTimeoutVerdict(facts: WorkerTimeoutFacts): ScenarioVerdict {
  const { gunicorn, latency, probes, timeoutLines } = facts;
  const timeoutMs = gunicorn.timeout * 1000;
  const evidence = [
    `gunicorn: timeout ${gunicorn.timeout} s, ${gunicorn.workers} worker(s) × ${gunicorn.threads} thread(s), ${gunicorn.workerClass}` +
      (gunicorn.cmdArgs ? ` (GUNICORN_CMD_ARGS="${gunicorn.cmdArgs}")` : ""),
    `database latency added: ${latency.rttMs} ms per round trip (${latency.reason})`,
    ...probes.map(describeProbe),
  ];
  const answered = probes.filter((p) => p.status !== 0);
  const slowest = [...probes].sort((a, b) => b.ms - a.ms)[0];
  if (slowest) {
    evidence.push(`slowest: GET ${slowest.path} ${seconds(slowest.ms)} = ${Math.round((slowest.ms / timeoutMs) * 100)} % of gunicorn's ${gunicorn.timeout} s timeout`);
  }
  evidence.push(...timeoutLines, ...facts.errorLines);
  // A fast 502 is another death (a worker killed for memory): only time counts here.
  const killed = probes.filter((p) => p.status === 0 || p.status === 504 || p.ms >= timeoutMs);
  if (timeoutLines.length > 0 || killed.length > 0) {
    const which = killed[0] ?? probes.find((p) => p.status === 502) ?? slowest!;
    return {
      status: "fail",
      summary:
        `with production database latency, GET ${which.path} outlasted gunicorn's ${gunicorn.timeout} s worker timeout` +
        (timeoutLines.length > 0 ? " (WORKER TIMEOUT: the worker was killed mid-request)" : ""),
      evidence,
      fix: FIX,
    };
  }
  return {
    status: "pass",
    summary: `every endpoint answered within gunicorn's ${gunicorn.timeout} s timeout with ${latency.rttMs} ms database latency (${answered.length} requests)`,
    evidence,
    fix: FIX,
  };
}

/**
 * After WORKER TIMEOUT the arbiter aborts the worker, kills it if it lingers (gunicorn then
 * prints "Perhaps out of memory?" for any SIGKILL) and boots a new one: wait for that, so the
 * next scenario starts on a steady instance and does not count this kill as its own.
 */
async function settleAfterKill(context: ScenarioContext, since: number): Promise<string[]> {
  const deadline = performance.now() + SETTLE_MS;
  for (;;) {
    const lines = await context.appLogsSince(since);
    const lastTimeout = lines.findLastIndex((line) => WORKER_TIMEOUT.test(line));
    if (lines.slice(lastTimeout).some((line) => /Booting worker with pid/.test(line)) || performance.now() > deadline) return lines;
    await delay(200);
  }
}

export const workerTimeout: Scenario = {
  id: "worker-timeout",
  title: "gunicorn's worker timeout with production database latency",
  applies: () => true,
  baseline: "endpoints",
  async run(context: ScenarioContext): Promise<ScenarioVerdict> {
    const read = await readGunicornConfig(context);
    if (!read.ok) {
      return { status: "skip", summary: "could not read gunicorn's settings in the app container", evidence: [read.error], fix: FIX };
    }
    const gunicorn = read.value;
    if (!gunicorn) {
      return { status: "skip", summary: "the app does not run gunicorn: no worker timeout to hit", evidence: [], fix: FIX };
    }
    const latency = estimateDbLatency(context.description);
    const since = Date.now();
    const links = context.stack.links;
    await links.addToxic("db", { type: "latency", name: TOXIC_NAME, stream: "downstream", attributes: { latency: latency.rttMs } });
    let probes: Probe[];
    try {
      // A client that waits past the timeout sees what gunicorn does; the passing case never waits.
      const timeoutMs = Math.max(gunicorn.timeout * 1000 + KILL_GRACE_MS, context.description.check.clientTimeoutMs);
      probes = await exercise(context, { timeoutMs });
    } finally {
      await links.removeToxic("db", TOXIC_NAME).catch(() => {});
    }
    let lines = await context.appLogsSince(since);
    if (lines.some((line) => WORKER_TIMEOUT.test(line))) lines = await settleAfterKill(context, since);
    return workerTimeoutVerdict({
      gunicorn,
      latency,
      probes,
      timeoutLines: matchingLines(lines, [WORKER_TIMEOUT], 3),
      errorLines: probes.some((p) => p.status >= 500) ? matchingLines(lines, [/Error: |Exception: /], 2) : [],
    });
  },
};
