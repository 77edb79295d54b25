/**
 * Requests/s and p50/p99 latency of a light GET, keep-alive, through prodlike's front (the
 * HTTPS URL of the stack), side by side in one run with gunicorn directly and with Debian's
 * nginx as a TLS proxy in front of the same app container. Ratios, not assertions.
 *
 *   npm run bench:edge
 *   BENCH_PATH=/bench-404/ BENCH_SECONDS=10 BENCH_CONNECTIONS=20 BENCH_THREADS=2 BENCH_ROUNDS=1
 *   BENCH_DEADLINE_S=1200 (hard: then everything is removed and it exits 2)
 *   BENCH_QUIET_WAIT_S=300 (wait at most this long for no other container and a low load)
 *
 * One load generator for every path: wrk (Debian's, images/bench-http) in a container, from
 * two places: the host's network namespace (the only place that reaches all three, the front
 * listening on 127.0.0.1) and the stack network (gunicorn and nginx only). A second pass with
 * one connection shows the latency each proxy adds to a request. The "closed" column counts
 * responses with "Connection: close" (each one costs the client a new connection and, over
 * HTTPS, a TLS handshake). A last table says where the CPU went during each run; cells
 * measured while another stack ran on the engine are marked with *.
 *
 * The default path is a 404 (no database work, so the app's answer is as light as it gets;
 * /auth/health/ does a query through the db link). Every path must answer the same status.
 *
 * What depends on the stack's design: where the front is (stack.url, seen from the host; from
 * the stack network too when a stack container publishes that port, i.e. a front in a
 * container), that the app container is labelled prodlike.service=app and publishes its port on
 * 127.0.0.1 (else "direct" is measured from the stack network only, and the host rows compare
 * the front with nginx), and the CA (loadOrCreateCa) that issues nginx's certificate.
 */
import { cpus, loadavg } from "node:os";
import type Dockerode from "dockerode";
import { up } from "../../src/api.js";
import { connectEngine } from "../../src/engine/docker.js";
import { execCapture } from "../../src/engine/exec.js";
import { LABEL_PROJECT, networkName } from "../../src/engine/labels.js";
import { issueCertificate, loadOrCreateCa } from "../../src/tls/ca.js";
import { addressOn, benchImage, benchProject, hostPort, serviceContainer, startHelper } from "./containers.js";
import { armDeadline, cleanUp, cleanups, meanCpu, measured, printCpu, waitQuiet, within } from "./shared.js";

const PATH = process.env.BENCH_PATH ?? "/bench-404/";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_S ?? 1200) * 1000;
const WARMUP_SECONDS = 2;
const NGINX_PORT = 8443;

type Place = "host" | "network";
type PathName = "direct" | "nginx (TLS)" | "front (TLS)";
const PATHS: readonly PathName[] = ["direct", "nginx (TLS)", "front (TLS)"];

interface WrkResult {
  readonly requests: number;
  readonly durationUs: number;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly status: number;
  readonly timeout: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
  /** Responses that carried "Connection: close" (the client had to reconnect). */
  readonly closed: number;
}

// ---- deadline and cleanup: every step has one, and the whole run has a hard one -------------

const hardStop = armDeadline("bench:edge", DEADLINE_MS);


// ---- the run -------------------------------------------------------------------------------

const docker = await connectEngine();
const { dir, project: expectedProject } = await benchProject(docker, "edge", "render-supabase");

try {
  const quiet = await waitQuiet(docker, expectedProject);
  console.error(`machine: ${quiet}`);
  await run(quiet);
} finally {
  // Still armed, unreferenced: if something kept the process alive after this, it ends it.
  hardStop.unref();
  await cleanUp();
}

async function run(quiet: string): Promise<void> {
  await using stack = await within(900_000, "prodlike up", up({ dir, overrides: { plan: "starter" } }));
  cleanups.push(() => stack.down({ volumes: true }));
  const { project } = stack.description;
  const network = networkName(project);
  const publicHost = stack.description.app.publicHost;
  const image = await benchImage(docker, "bench-http");

  const app = await serviceContainer(docker, project, "app");
  const appPort = Number(Object.keys(app.Config.ExposedPorts ?? {})[0]?.split("/")[0] ?? 10000);
  const appIp = addressOn(app, network);
  const appHostPort = hostPort(app, appPort);

  // nginx: the same certificate authority and key type as the front's certificate.
  const cert = issueCertificate(await loadOrCreateCa(), ["localhost", "127.0.0.1"]);
  const nginx = await startHelper(docker, {
    project,
    dir: stack.description.dir,
    service: "bench-nginx",
    image,
    cmd: ["bash", "/usr/local/share/bench/nginx-proxy.sh"],
    env: { UPSTREAM: `${appIp}:${appPort}`, CERT_PEM: cert.certPem, KEY_PEM: cert.keyPem },
    publish: [NGINX_PORT],
  });
  const nginxInfo = await nginx.inspect();
  const nginxIp = addressOn(nginxInfo, network);
  const nginxHostPort = hostPort(nginxInfo, NGINX_PORT);

  const front = new URL(stack.url);
  // The front from the stack network too, when a container of the stack publishes its port (a
  // front in a container); a front in this process (127.0.0.1 of the host) is not reachable there.
  const frontInNetwork = await (async () => {
    for (const c of await docker.listContainers({ filters: { label: [`${LABEL_PROJECT}=${project}`] } })) {
      const published = c.Ports.find((p) => p.PublicPort === Number(front.port || 443) && p.Type === "tcp");
      if (published) return `https://${addressOn(await docker.getContainer(c.Id).inspect(), network)}:${published.PrivatePort}${PATH}`;
    }
    return undefined;
  })();
  const generators: Record<Place, Dockerode.Container> = {
    host: await startHelper(docker, { project, dir: stack.description.dir, service: "bench-wrk-host", image, hostNetwork: true }),
    network: await startHelper(docker, { project, dir: stack.description.dir, service: "bench-wrk", image }),
  };
  const targets: Record<Place, Partial<Record<PathName, string>>> = {
    host: {
      ...(appHostPort ? { direct: `http://127.0.0.1:${appHostPort}${PATH}` } : {}),
      ...(nginxHostPort ? { "nginx (TLS)": `https://127.0.0.1:${nginxHostPort}${PATH}` } : {}),
      "front (TLS)": new URL(PATH, front).toString(),
    },
    network: {
      direct: `http://${appIp}:${appPort}${PATH}`,
      "nginx (TLS)": `https://${nginxIp}:${NGINX_PORT}${PATH}`,
      ...(frontInNetwork ? { "front (TLS)": frontInNetwork } : {}),
    },
  };
  const inGenerator = (place: Place, cmd: string[], timeoutMs: number, what: string) => within(timeoutMs, what, execCapture(docker, generators[place].id, cmd));

  // Every path must answer the same status (nginx up, Host allowed, no redirect on one path only).
  const statuses: string[] = [];
  for (const place of ["host", "network"] as const) {
    for (const [path, url] of Object.entries(targets[place])) {
      const status = await within(
        60_000,
        `nginx answering from the ${place}`,
        (async () => {
          for (;;) {
            const out = await execCapture(docker, generators[place].id, ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-H", `Host: ${publicHost}`, url]);
            if (out.stdout !== "000" || path !== "nginx (TLS)") return out.stdout;
            await new Promise((r) => setTimeout(r, 200));
          }
        })(),
      );
      statuses.push(`${place} ${path}: ${status}`);
    }
  }
  const distinct = new Set(statuses.map((s) => s.split(": ")[1]));
  if (distinct.size !== 1 || distinct.has("000")) throw new Error(`the paths do not answer ${PATH} alike:\n  ${statuses.join("\n  ")}`);
  const status = [...distinct][0]!;

  const wrkVersion = (await execCapture(docker, generators.host.id, ["bash", "-c", "wrk -v 2>&1 | head -1"])).stdout.trim();
  const wrk = async (place: Place, url: string, connections: number, seconds: number): Promise<WrkResult> => {
    const threads = Math.min(THREADS, connections);
    const cmd = ["wrk", "-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", "/usr/local/share/bench/report.lua", "-H", `Host: ${publicHost}`, url];
    const out = await inGenerator(place, cmd, (seconds + 60) * 1000, `wrk ${url} from the ${place}`);
    const line = out.stdout.split("\n").find((l) => l.startsWith("{"));
    if (out.exitCode !== 0 || !line) throw new Error(`wrk ${url} failed (exit ${out.exitCode}):\n${out.stdout.slice(-1500)}\n${out.stderr.slice(-1500)}`);
    return JSON.parse(line) as WrkResult;
  };

  const passes = [CONNECTIONS, 1] as const;
  const results = new Map<string, WrkResult[]>();
  const disturbed = new Map<string, Set<string>>();
  const cpuByKey = new Map<string, Map<string, number>[]>();
  const key = (connections: number, place: Place, path: PathName) => `${connections}|${place}|${path}`;
  for (const [place, byPath] of Object.entries(targets) as [Place, Partial<Record<PathName, string>>][]) {
    for (const url of Object.values(byPath)) await wrk(place, url, CONNECTIONS, WARMUP_SECONDS);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const connections of passes) {
      for (const place of ["host", "network"] as const) {
        const available = PATHS.filter((path) => targets[place][path]);
        const shift = round % available.length;
        for (const path of [...available.slice(shift), ...available.slice(0, shift)]) {
          const { value: result, disturbedBy, cpu } = await measured(docker, project, () => wrk(place, targets[place][path]!, connections, SECONDS));
          const k = key(connections, place, path);
          results.set(k, [...(results.get(k) ?? []), result]);
          cpuByKey.set(k, [...(cpuByKey.get(k) ?? []), cpu]);
          if (disturbedBy.length > 0) disturbed.set(k, new Set([...(disturbed.get(k) ?? []), ...disturbedBy]));
          console.error(
            `  c=${String(connections).padEnd(3)} ${place.padEnd(7)} ${path.padEnd(11)} ${rps(result).toFixed(0)} req/s  p50 ${ms(result.p50)}  p99 ${ms(result.p99)}${disturbedBy.length ? `  (also running: ${disturbedBy.join(", ")})` : ""}`,
          );
        }
      }
    }
  }

  // nginx logs only warnings and errors here: show them, they would explain an odd row.
  const nginxLog = ((await nginx.logs({ stdout: true, stderr: true, tail: 10 })) as unknown as Buffer).toString("utf8").replace(/[\x00-\x08]/g, "").trim();
  if (nginxLog) console.error(`nginx's last log lines:\n${nginxLog}`);
  const limits = stack.description.app.limits;
  console.log(`prodlike's front vs nginx (TLS) vs gunicorn directly: GET ${PATH} (${status} on every path), keep-alive, same stack, same run`);
  console.log(`  app: ${stack.description.app.startCommand} in a container, plan ${stack.description.app.plan} (${limits.cpus} CPU, ${limits.memoryMb} MB); the fixture's gunicorn has 1 sync worker, which closes every connection after its response`);
  console.log(`  ${wrkVersion}: -t ${THREADS} -d ${SECONDS}s, Host: ${publicHost}; ${ROUNDS === 1 ? "one run" : `median of ${ROUNDS} rounds`} per cell; nginx 1 worker, TLS with a prodlike-CA certificate, keep-alive to the app`);
  console.log(
    `  from host: wrk in the host's network namespace (published ports: app ${appHostPort ?? "none"}, nginx ${nginxHostPort}; front ${front.host}); ` +
      `from network: wrk on ${network} (front ${frontInNetwork ? new URL(frontInNetwork).host : "not reachable there"})`,
  );
  console.log(`  closed: share of responses with "Connection: close" (the client must reconnect: over HTTPS, a full TLS handshake each time)`);
  for (const connections of passes) {
    console.log("");
    console.log(`  ${connections} connection${connections === 1 ? "" : "s"}:`);
    console.log(`  ${"from".padEnd(8)}${"path".padEnd(12)}${"req/s".padStart(8)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"errors".padStart(8)}${"closed".padStart(8)} |${"req/s vs direct".padStart(16)}${"p50 +ms".padStart(9)}${"p99 +ms".padStart(9)}`);
    for (const place of ["host", "network"] as const) {
      const direct = median(results.get(key(connections, place, "direct")));
      for (const path of PATHS) {
        const r = median(results.get(key(connections, place, path)));
        if (!r) continue;
        const errors = r.connect + r.read + r.write + r.timeout + (status.startsWith("2") || status.startsWith("3") ? r.status : 0);
        const vs = direct && path !== "direct" ? `${(rps(r) / rps(direct)).toFixed(2)}x`.padStart(16) + signed(r.p50 - direct.p50) + signed(r.p99 - direct.p99) : "".padStart(34);
        const mark = disturbed.has(key(connections, place, path)) ? "*" : "";
        console.log(`  ${place.padEnd(8)}${path.padEnd(12)}${`${rps(r).toFixed(0)}${mark}`.padStart(8)}${ms(r.p50).padStart(9)}${ms(r.p99).padStart(9)}${String(errors).padStart(8)}${`${Math.round((100 * r.closed) / Math.max(1, r.requests))}%`.padStart(8)} |${vs}`);
      }
    }
    for (const place of ["host", "network"] as const) {
      const f = median(results.get(key(connections, place, "front (TLS)")));
      const n = median(results.get(key(connections, place, "nginx (TLS)")));
      if (f && n) console.log(`  front/nginx (${place}): req/s ${(rps(f) / rps(n)).toFixed(2)}x, p50 ${signed(f.p50 - n.p50).trim()} ms, p99 ${signed(f.p99 - n.p99).trim()} ms`);
    }
  }
  console.log("");
  console.log(`  CPU during each run, % of one core, mean of the rounds (machine: everything, ${cpus().length * 100}% = all cores; this process: the bench and whatever of the stack runs in-process; rest: the kernel, host processes, other stacks):`);
  const cpuRows = passes.flatMap((connections) =>
    (["host", "network"] as const).flatMap((place) =>
      PATHS.filter((path) => cpuByKey.has(key(connections, place, path))).map((path) => ({ label: `c=${connections} ${place} ${path}`, cpu: meanCpu(cpuByKey.get(key(connections, place, path))) })),
    ),
  );
  printCpu(cpuRows, 26);
  console.log("");
  const intruders = new Set([...disturbed.values()].flatMap((names) => [...names]));
  console.log(`  machine: ${cpus().length} CPUs; before up: ${quiet}; load at the end ${loadavg()[0]!.toFixed(2)}`);
  if (intruders.size > 0) console.log(`  * measured while other stacks or containers ran on the engine (disturbed): ${[...intruders].join(", ")}`);
}

function rps(r: WrkResult): number {
  return r.requests / (r.durationUs / 1e6);
}

function ms(us: number): string {
  return (us / 1000).toFixed(2);
}

function signed(us: number): string {
  return `${us >= 0 ? "+" : ""}${(us / 1000).toFixed(2)}`.padStart(9);
}

/** The run with the median requests/s (its latencies go with it). */
function median(runs: readonly WrkResult[] | undefined): WrkResult | undefined {
  if (!runs?.length) return undefined;
  return [...runs].sort((a, b) => rps(a) - rps(b))[Math.floor(runs.length / 2)];
}
