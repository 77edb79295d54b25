/**
 * Soak: SOAK_MINUTES of mixed traffic through a real stack (the render-neon-upstash-cloudinary
 * fixture: the front, the db link to PgBouncer and Postgres, the redis link to Redis, the
 * Cloudinary stand-in over MinIO, all in the platform container), with toxics and sleep/wake on
 * a schedule. Prints requests, failures by cause, and the platform process's fds and RSS over
 * time. Target: 0 failures that the fault injected at that moment does not explain, fds and RSS
 * flat. Not a test: numbers, not assertions.
 *
 *   npx tsx test/bench/soak.ts
 *   SOAK_MINUTES=10 SOAK_CONCURRENCY=4 SOAK_SAMPLE_S=15
 *   BENCH_DEADLINE_S=(minutes × 60 + 1200) (hard: then everything is removed and it exits 2)
 *
 * Every SOAK_CYCLE_S (60) the schedule repeats: clean traffic; 200 ms latency on the db link
 * (slower, must not fail); the redis link resets every connection (`/health` may answer 503: it
 * pings Redis; `/` must not fail: the cache ignores Redis errors); the app put to sleep and
 * woken by the next request (held, must not fail). A failure counts as explained when it
 * happened while a fault was on, or within FAULT_GRACE_MS after it ended.
 */
import sharp from "sharp";
import { FormData } from "undici";
import { up } from "../../src/api.js";
import { connectEngine } from "../../src/engine/docker.js";
import type { RunningStack } from "../../src/running-stack.js";
import { benchProject } from "./containers.js";
import { armDeadline, cleanUp, cleanups, waitQuiet, within } from "./shared.js";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 4);
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_S ?? 15) * 1000;
const CYCLE_MS = Number(process.env.SOAK_CYCLE_S ?? 60) * 1000;
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_S ?? MINUTES * 60 + 1200) * 1000;
const REQUEST_TIMEOUT_MS = 120_000;
const FAULT_GRACE_MS = 2_000;
const FIXTURE = "render-neon-upstash-cloudinary";

type Fault = "none" | "db latency 200ms" | "redis reset_peer" | "sleep/wake";

/** What is injected at `t` ms into a cycle (fractions of the cycle, so a short cycle still has each). */
const SCHEDULE: readonly { from: number; fault: Fault }[] = [
  { from: 0, fault: "none" },
  { from: 0.3, fault: "db latency 200ms" },
  { from: 0.45, fault: "none" },
  { from: 0.55, fault: "redis reset_peer" },
  { from: 0.7, fault: "none" },
  { from: 0.8, fault: "sleep/wake" },
];

interface Sample {
  readonly atS: number;
  readonly requests: number;
  readonly failures: number;
  readonly fds: number;
  readonly rssMb: number;
}

const hardStop = armDeadline("bench:soak", DEADLINE_MS);
const docker = await connectEngine();
const { dir, project: expectedProject } = await benchProject(docker, "soak", FIXTURE);

try {
  console.error(`machine: ${await waitQuiet(docker, expectedProject)}`);
  await run();
} finally {
  hardStop.unref();
  await cleanUp();
}

async function run(): Promise<void> {
  const booting = Date.now();
  const stack = await within(900_000, "prodlike up", up({ dir }));
  cleanups.push(() => stack.down({ volumes: true }));
  console.error(`stack up in ${Math.round((Date.now() - booting) / 1000)} s; soaking ${MINUTES} min, ${CONCURRENCY} clients`);
  const image = await sharp({ create: { width: 16, height: 12, channels: 3, background: "teal" } }).png().toBuffer();

  const started = Date.now();
  const endAt = started + MINUTES * 60_000;
  let fault: Fault = "none";
  let faultEndedAt = 0;
  const counts = { requests: 0, failures: 0 };
  const byKind = new Map<string, number>();
  const failures = new Map<string, number>();
  const samples: Sample[] = [];

  const explainedBy = (): string | undefined => (fault !== "none" ? fault : Date.now() - faultEndedAt < FAULT_GRACE_MS ? "a fault just ended" : undefined);
  const fail = (kind: string, what: string) => {
    counts.failures++;
    const cause = explainedBy();
    const key = `${cause ? `explained (${cause})` : "UNEXPLAINED"}: ${kind} ${what}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
  };

  const kinds: readonly { name: string; weight: number; send: () => Promise<{ status: number; ok: boolean; text: string }> }[] = [
    { name: "GET /healthz", weight: 3, send: () => call(stack, "/healthz", (s) => s === 200) },
    { name: "GET /health", weight: 3, send: () => call(stack, "/health", (s) => s === 200) },
    { name: "GET /", weight: 3, send: () => call(stack, "/", (s) => s === 200) },
    { name: "GET /api/items/", weight: 2, send: () => call(stack, "/api/items/", (s) => s === 200) },
    {
      name: "POST /api/items/",
      weight: 1,
      send: () => {
        const form = new FormData();
        form.append("title", `soak ${counts.requests}`);
        form.append("image", new Blob([image], { type: "image/png" }), "soak.png");
        return call(stack, "/api/items/", (s) => s === 201, { method: "POST", body: form });
      },
    },
  ];
  const bag = kinds.flatMap((kind) => Array.from({ length: kind.weight }, () => kind));

  const client = async () => {
    while (Date.now() < endAt) {
      const kind = bag[Math.floor(Math.random() * bag.length)]!;
      counts.requests++;
      byKind.set(kind.name, (byKind.get(kind.name) ?? 0) + 1);
      try {
        const reply = await kind.send();
        if (!reply.ok) fail(kind.name, `HTTP ${reply.status} ${reply.text.slice(0, 80).replace(/\s+/g, " ")}`);
      } catch (err) {
        fail(kind.name, `${(err as Error).name}: ${((err as { cause?: Error }).cause ?? (err as Error)).message.slice(0, 80)}`);
      }
    }
  };

  const faults = async () => {
    while (Date.now() < endAt) {
      const t = ((Date.now() - started) % CYCLE_MS) / CYCLE_MS;
      const want = [...SCHEDULE].reverse().find((step) => t >= step.from)!.fault;
      if (want !== fault) {
        await switchFault(stack, fault, want);
        if (want === "none") faultEndedAt = Date.now();
        fault = want;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await switchFault(stack, fault, "none");
  };

  const sampler = async () => {
    for (;;) {
      const { fds, rssMb } = await platformProcess(stack);
      samples.push({ atS: Math.round((Date.now() - started) / 1000), requests: counts.requests, failures: counts.failures, fds, rssMb });
      if (Date.now() >= endAt) return;
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, Math.max(0, endAt - Date.now()))));
    }
  };

  await Promise.all([...Array.from({ length: CONCURRENCY }, client), faults(), sampler()]);
  print(samples, byKind, failures, counts);
}

async function call(stack: RunningStack, path: string, ok: (status: number) => boolean, init: Parameters<RunningStack["fetch"]>[1] = {}) {
  const response = await stack.fetch(path, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: "manual" });
  const text = await response.text();
  return { status: response.status, ok: ok(response.status), text };
}

async function switchFault(stack: RunningStack, from: Fault, to: Fault): Promise<void> {
  if (from === "db latency 200ms") await stack.links.db.removeToxic("soak-latency");
  if (from === "redis reset_peer") await stack.links.redis.removeToxic("soak-reset");
  if (to === "db latency 200ms") await stack.links.db.addToxic({ type: "latency", name: "soak-latency", attributes: { latency: 200 } });
  if (to === "redis reset_peer") await stack.links.redis.addToxic({ type: "reset_peer", name: "soak-reset", attributes: { timeout: 0 } });
  if (to === "sleep/wake") await stack.sleep(); // the next request wakes it, as on Render
}

/** The platform container's Node process: open fds and RSS, read from /proc inside the container. */
async function platformProcess(stack: RunningStack): Promise<{ fds: number; rssMb: number }> {
  const script = 'for p in /proc/[0-9]*; do if tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "^node "; then echo $(ls $p/fd | wc -l) $(grep VmRSS $p/status | tr -s " " | cut -d" " -f2); fi; done';
  const result = await stack.exec(["sh", "-c", script], { service: "platform" });
  const [fds, rssKb] = result.stdout.trim().split("\n")[0]!.split(" ").map(Number);
  if (!fds || !rssKb) throw new Error(`no node process found in the platform container: ${JSON.stringify(result.stdout)} ${result.stderr}`);
  return { fds, rssMb: Math.round(rssKb / 1024) };
}

function print(samples: readonly Sample[], byKind: Map<string, number>, failures: Map<string, number>, counts: { requests: number; failures: number }): void {
  console.log(`\nsoak: ${MINUTES} min, ${CONCURRENCY} clients, cycle ${CYCLE_MS / 1000} s (clean, db latency, redis reset_peer, sleep/wake)\n`);
  console.log("   t (s)  requests  failures    fds  RSS (MB)");
  for (const s of samples) console.log(`${String(s.atS).padStart(8)}${String(s.requests).padStart(10)}${String(s.failures).padStart(10)}${String(s.fds).padStart(7)}${String(s.rssMb).padStart(10)}`);
  console.log(`\nrequests: ${counts.requests} (${[...byKind].map(([k, v]) => `${k} ${v}`).join(", ")})`);
  console.log(`failures: ${counts.failures}${failures.size ? "" : " (none)"}`);
  for (const [cause, n] of [...failures].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${cause}`);
  const unexplained = [...failures].filter(([cause]) => cause.startsWith("UNEXPLAINED")).reduce((a, [, n]) => a + n, 0);
  const warm = samples.slice(1);
  const range = (pick: (s: Sample) => number) => (warm.length ? `${Math.min(...warm.map(pick))}–${Math.max(...warm.map(pick))}` : "n/a");
  console.log(`\nunexplained failures: ${unexplained} (target 0); after the first sample: fds ${range((s) => s.fds)}, RSS ${range((s) => s.rssMb)} MB (target: flat)`);
}
