import { readdir, readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import type { Docker } from "../../src/engine/docker.js";
import { LABEL_PROJECT, LABEL_SERVICE } from "../../src/engine/labels.js";

/** What both benches (link.ts, edge.ts) share: cleanup and deadlines, a quiet machine, CPU per container. */
export const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;
export function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) await within(60_000, "cleanup", cleanup()).catch((err: Error) => console.error(`cleanup: ${err.message}`));
  })();
  return cleaning;
}
/** The whole run's hard deadline: past it, clean up and exit 2. Clear the timer when done. */
export function armDeadline(bench: string, ms: number): NodeJS.Timeout {
  return setTimeout(() => {
    console.error(`${bench}: hard deadline of ${ms / 1000} s reached (BENCH_DEADLINE_S): removing the bench's containers and the stack, then exiting`);
    void cleanUp().finally(() => process.exit(2));
  }, ms);
}

export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---- the engine and the two cores may be shared (another stack, a test run): say so ---------

const QUIET_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT_S ?? 300) * 1000;
const QUIET_LOAD = 1.5;

/** Other stacks (by project label) and unlabelled containers running on the engine. */
export async function othersRunning(docker: Docker, project: string): Promise<string[]> {
  const others = (await docker.listContainers()).filter((c) => c.Labels?.[LABEL_PROJECT] !== project);
  return [...new Set(others.map((c) => c.Labels?.[LABEL_PROJECT] ?? c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12)))];
}

/** Wait (at most BENCH_QUIET_WAIT_S) for no other container and a 1-min load under QUIET_LOAD; report how it went. */
export async function waitQuiet(docker: Docker, project: string): Promise<string> {
  const started = Date.now();
  for (;;) {
    const others = await othersRunning(docker, project);
    const load = loadavg()[0]!;
    if (others.length === 0 && load < QUIET_LOAD) return `quiet after ${Math.round((Date.now() - started) / 1000)} s (load ${load.toFixed(2)}, no other container running)`;
    if (Date.now() - started >= QUIET_WAIT_MS) {
      return `NOT quiet after ${QUIET_WAIT_MS / 1000} s (BENCH_QUIET_WAIT_S): load ${load.toFixed(2)}, also running: ${others.join(", ") || "nothing else"}`;
    }
    await new Promise((r) => setTimeout(r, 5_000));
  }
}

/**
 * Run one measurement; name the other stacks seen running just before or after it, and say
 * where the CPU went meanwhile, in % of one core: this process (the stack's in-process parts,
 * if the design has any), each container of the stack by its service label, and the machine.
 */
export async function measured<T>(docker: Docker, project: string, measure: () => Promise<T>): Promise<{ value: T; disturbedBy: string[]; cpu: Map<string, number> }> {
  const before = await othersRunning(docker, project);
  const cpuBefore = await cpuSnapshot(docker, project);
  const started = process.hrtime.bigint();
  const value = await measure();
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const cpuAfter = await cpuSnapshot(docker, project);
  const after = await othersRunning(docker, project);
  const cpu = new Map<string, number>();
  for (const [key, ns] of cpuAfter) {
    // Per process or container, then summed by party; one that started meanwhile counts from 0.
    const party = key.split("#")[0]!;
    cpu.set(party, (cpu.get(party) ?? 0) + (100 * (ns - (cpuBefore.get(key) ?? 0))) / elapsedNs);
  }
  const machine = cpu.get("machine");
  if (machine !== undefined) cpu.set("rest", machine - [...cpu].reduce((sum, [party, pct]) => (party === "machine" ? sum : sum + pct), 0));
  return { value, disturbedBy: [...new Set([...before, ...after])], cpu };
}

/** CPU time used so far, in ns, by "party#id": the machine, this process, docker-proxy processes, the stack's containers (party = service label). */
export async function cpuSnapshot(docker: Docker, project: string): Promise<Map<string, number>> {
  const snapshot = new Map<string, number>();
  const [, ...fields] = (await readFile("/proc/stat", "utf8").catch(() => "")).split("\n")[0]?.trim().split(/\s+/) ?? [];
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait, in USER_HZ (100/s)
  if (fields.length >= 8) snapshot.set("machine", [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + Number(fields[i]), 0) * 1e7);
  const usage = process.cpuUsage();
  snapshot.set("this process", (usage.user + usage.system) * 1000);
  // Docker's userland proxy carries connections to ports published on 127.0.0.1.
  for (const [pid, ns] of await processCpuNs("docker-proxy")) snapshot.set(`docker-proxy#${pid}`, ns);
  for (const c of await docker.listContainers({ filters: { label: [`${LABEL_PROJECT}=${project}`] } })) {
    const ns = await containerCpuNs(c.Id);
    if (ns !== undefined) snapshot.set(`${c.Labels?.[LABEL_SERVICE] ?? c.Names[0] ?? "container"}#${c.Id}`, ns);
  }
  return snapshot;
}

/** CPU time of each host process with that command name (utime + stime of /proc/<pid>/stat), in ns. */
export async function processCpuNs(command: string): Promise<Map<string, number>> {
  const byPid = new Map<string, number>();
  for (const pid of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (!stat.includes(`(${command})`)) continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    byPid.set(pid, (Number(fields[11]) + Number(fields[12])) * 1e7);
  }
  return byPid;
}

/** A container's CPU time from its cgroup (v1 cpuacct, or v2 under systemd or cgroupfs); undefined if not readable. */
export async function containerCpuNs(id: string): Promise<number | undefined> {
  const v1 = await readFile(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, "utf8").catch(() => null);
  if (v1) return Number(v1.trim());
  for (const path of [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`]) {
    const v2 = await readFile(path, "utf8").catch(() => null);
    const usec = v2 && /^usage_usec (\d+)/m.exec(v2)?.[1];
    if (usec) return Number(usec) * 1000;
  }
  return undefined;
}

/** The CPU table: one row per measurement, one column per party that used 5% of a core somewhere. */
export function printCpu(rows: readonly { label: string; cpu: Map<string, number> | undefined }[], labelWidth: number): void {
  const parties = [...new Set(rows.flatMap((row) => [...(row.cpu?.keys() ?? [])]))].filter((party) =>
    party === "machine" || rows.some((row) => (row.cpu?.get(party) ?? 0) >= 5),
  );
  const first = ["machine", "this process", "docker-proxy"];
  const rank = (party: string) => (first.includes(party) ? first.indexOf(party) : party === "rest" ? 99 : 10);
  parties.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const width = (party: string) => Math.max(party.length, 5) + 2;
  console.log(`  ${"".padEnd(labelWidth)}${parties.map((party) => party.padStart(width(party))).join("")}`);
  for (const row of rows) {
    if (!row.cpu) continue;
    console.log(`  ${row.label.padEnd(labelWidth)}${parties.map((party) => (row.cpu!.has(party) ? `${row.cpu!.get(party)!.toFixed(0)}%` : "-").padStart(width(party))).join("")}`);
  }
}

/** Each party's CPU, averaged over the rounds of one cell. */
export function meanCpu(runs: readonly Map<string, number>[] | undefined): Map<string, number> | undefined {
  if (!runs?.length) return undefined;
  const parties = new Set(runs.flatMap((run) => [...run.keys()]));
  return new Map([...parties].map((party) => [party, runs.reduce((sum, run) => sum + (run.get(party) ?? 0), 0) / runs.length]));
}
