import { setTimeout as delay } from "node:timers/promises";
import { WorkerKills } from "../services/app.js";
import { describeProbe, exercise, isServerError } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

export const FIX =
  "Use less memory per instance: fewer gunicorn workers (WEB_CONCURRENCY=1 or 2 on 512 MB), less per request " +
  "(stream or paginate large responses, .iterator() over big querysets), or choose a plan with more memory.";

/** Usage above this share of the limit is worth a warning: one more big request and the kernel kills. */
export const WARN_SHARE = 0.8;
const MB = 1024 * 1024;
/** The app instance pairs the kernel's OOM event with gunicorn's line within 2 s. */
const OOM_REPORT_MS = 2_500;
/** The evidence when Docker's oom event is all there is (gunicorn printed no line about a kill). */
export const KERNEL_ONLY = "Docker reported the kernel's OOM kill in the app container (its oom event); gunicorn printed no line about it";
/** How long a counted kill waits for gunicorn's line about it, to quote as evidence. */
const OOM_LINE_WAIT_MS = 5_000;

/**
 * The container's memory cgroup, read from inside (both cgroup versions): the same numbers
 * `docker stats` shows, plus the peak, which `docker stats` does not keep on cgroup v2.
 */
const READ_CGROUP = `
if [ -f /sys/fs/cgroup/memory.max ]; then
  echo "version 2"
  echo "current $(cat /sys/fs/cgroup/memory.current)"
  echo "peak $(cat /sys/fs/cgroup/memory.peak 2>/dev/null || echo -)"
  echo "limit $(cat /sys/fs/cgroup/memory.max)"
  grep -E '^inactive_file ' /sys/fs/cgroup/memory.stat
else
  d=/sys/fs/cgroup/memory
  echo "version 1"
  echo "current $(cat $d/memory.usage_in_bytes)"
  echo "peak $(cat $d/memory.max_usage_in_bytes 2>/dev/null || echo -)"
  echo "limit $(cat $d/memory.limit_in_bytes)"
  grep -E '^total_inactive_file ' $d/memory.stat | sed 's/^total_//'
fi
`;

/**
 * gunicorn's lines about workers the kernel killed, among the `window`'s (at most three): its
 * SIGKILL line after a WORKER TIMEOUT of the same pid (earlier in `whole`) is its own kill.
 */
export function oomKillLines(window: readonly string[], whole: readonly string[]): string[] {
  const kills = new WorkerKills();
  const killed = new Set(whole.filter((line) => kills.oomKilled(line) !== undefined));
  return window.filter((line) => killed.has(line)).slice(0, 3);
}

export interface MemoryReading {
  readonly currentBytes: number;
  readonly peakBytes: number | null;
  /** null: no limit set on the container. */
  readonly limitBytes: number | null;
  /** Page cache the kernel reclaims first: not counted as used (docker stats subtracts it too). */
  readonly inactiveFileBytes: number;
}

/** Parse READ_CGROUP's output; undefined when it is not that. */
export function parseCgroupMemory(text: string): MemoryReading | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) fields.set(key, value);
  }
  const number = (key: string): number | null => {
    const raw = fields.get(key);
    if (raw === undefined || !/^\d+$/.test(raw)) return null;
    return Number(raw);
  };
  const current = number("current");
  if (current === null) return undefined;
  const limit = number("limit");
  return {
    currentBytes: current,
    peakBytes: number("peak"),
    // cgroup v1 says "no limit" with a huge number; v2 with "max".
    limitBytes: limit === null || limit >= 2 ** 60 ? null : limit,
    inactiveFileBytes: number("inactive_file") ?? 0,
  };
}

export interface MemoryFacts {
  readonly reading: MemoryReading | null;
  readonly readError: string | null;
  readonly planMemoryMb: number;
  readonly plan: string;
  readonly oomKills: number;
  readonly oomKillsBefore: number;
  readonly oomLines: readonly string[];
  readonly probes: readonly Probe[];
}

export function memoryVerdict(facts: MemoryFacts): ScenarioVerdict {
  const { reading } = facts;
  const limitMb = reading?.limitBytes ? Math.round(reading.limitBytes / MB) : facts.planMemoryMb;
  const evidence: string[] = [];
  let peakMb: number | null = null;
  if (reading) {
    const nowMb = Math.round(Math.max(0, reading.currentBytes - reading.inactiveFileBytes) / MB);
    // The peak counts page cache too; the cache now is the best estimate of its share then.
    peakMb = reading.peakBytes === null ? nowMb : Math.round(Math.max(0, reading.peakBytes - reading.inactiveFileBytes) / MB);
    evidence.push(`memory: peak ${peakMb} MB / ${limitMb} MB limit (the ${facts.plan} plan), ${nowMb} MB in use now`);
  } else {
    evidence.push(`memory: could not be read (${facts.readError ?? "no cgroup"}); limit ${limitMb} MB (the ${facts.plan} plan)`);
  }
  const kills = facts.oomKills - facts.oomKillsBefore;
  evidence.push(`OOM kills while exercising: ${kills}` + (facts.oomKillsBefore > 0 ? ` (${facts.oomKillsBefore} before this check)` : ""));
  evidence.push(...facts.oomLines);
  if (kills > 0 && facts.oomLines.length === 0) evidence.push(KERNEL_ONLY);
  evidence.push(...facts.probes.filter(isServerError).map(describeProbe));
  if (kills > 0) {
    return {
      status: "fail",
      summary: `the plan's ${limitMb} MB was exceeded: the kernel killed ${kills === 1 ? "a process" : `${kills} processes`} of the app`,
      evidence,
      fix: FIX,
    };
  }
  if (peakMb !== null && peakMb > limitMb * WARN_SHARE) {
    evidence.push(`warning: the peak is ${Math.round((peakMb / limitMb) * 100)} % of the limit: one heavier request and the kernel kills a worker`);
  }
  return {
    status: "pass",
    summary: `every endpoint ran within the plan's ${limitMb} MB` + (peakMb !== null ? ` (peak ${peakMb} MB)` : ""),
    evidence,
    fix: FIX,
  };
}

export const memoryLimit: Scenario = {
  id: "memory-limit",
  title: "the plan's memory limit",
  applies: () => true,
  baseline: "endpoints",
  async run(context: ScenarioContext): Promise<ScenarioVerdict> {
    const { stack, description } = context;
    const since = Date.now();
    const oomKillsBefore = await stack.app.oomKills();
    const probes = await exercise(context);
    // A killed worker shows as a 502 first; its OOM report follows within the pairing window.
    if (probes.some(isServerError) && (await stack.app.oomKills()) === oomKillsBefore) await delay(OOM_REPORT_MS);
    let reading: MemoryReading | null = null;
    let readError: string | null = null;
    try {
      const result = await stack.exec(READ_CGROUP);
      reading = parseCgroupMemory(result.stdout) ?? null;
      if (!reading) readError = `unexpected output: ${result.stdout.trim().split("\n")[0] ?? ""} ${result.stderr.trim()}`.trim();
    } catch (err) {
      readError = err instanceof Error ? err.message : String(err);
    }
    // The kernel's event can come first; gunicorn's line about the kill follows when its arbiter
    // reaps the worker, which a memory-starved container may take seconds to do.
    const oomLines = async () => {
      const whole = await context.appLogsSince(0); // after the barrier: the window below is read from the same journal
      return oomKillLines((await stack.app.logs({ since })).map((entry) => entry.line), whole);
    };
    let lines = await oomLines();
    for (const deadline = Date.now() + OOM_LINE_WAIT_MS; (await stack.app.oomKills()) > oomKillsBefore && lines.length === 0 && Date.now() < deadline; ) {
      await delay(250);
      lines = await oomLines();
    }
    return memoryVerdict({
      reading,
      readError,
      planMemoryMb: description.app.limits.memoryMb,
      plan: description.app.plan,
      // The app instance leaves out gunicorn's own kills of timed-out workers.
      oomKills: await stack.app.oomKills(),
      oomKillsBefore,
      oomLines: lines,
      probes,
    });
  },
};
