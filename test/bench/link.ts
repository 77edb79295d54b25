/**
 * pgbench TPS through prodlike's db link (TLS, the production host name and port the app
 * uses), side by side in one run with PgBouncer directly and with Toxiproxy (no toxics, no
 * TLS) in front of the same PgBouncer, the anchor. PgBouncer with client TLS is measured too,
 * so the cost of TLS itself can be told from the cost of the link. Ratios, not assertions;
 * target: link >= 1.2x Toxiproxy's TPS.
 *
 *   npm run bench:link
 *   BENCH_SECONDS=15 BENCH_CLIENTS=8 BENCH_THREADS=2 BENCH_SCALE=8 BENCH_ROUNDS=1
 *   BENCH_DEADLINE_S=1800 (hard: then everything is removed and it exits 2)
 *   BENCH_QUIET_WAIT_S=300 (wait at most this long for no other container and a low load)
 *
 * pgbench runs in a container made from the stack's own prodlike/postgres image on the stack
 * network (where the app connects from), and from the host (`pgbench` on PATH) where each
 * path is reachable. Toxiproxy is built once from its Go module into
 * ~/.cache/prodlike/toxiproxy/<version>/ and runs in a container from images/bench-toxiproxy.
 * Every container it starts carries the stack's labels (down() and the reaper remove them too).
 * A second table says where the CPU went during each run; cells measured while another stack
 * ran on the engine are marked with *.
 *
 * What depends on the stack's design: how the production host name reaches the link from a
 * container (a network alias of a stack container: used as it is; else an ExtraHosts entry to
 * the stack network's gateway, where the in-process links listen), where the host reaches the
 * link (the host-side DATABASE_URL of stack.env), and finding postgres and pgbouncer by their
 * prodlike.service labels.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { cpus, homedir, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { up } from "../../src/api.js";
import { connectEngine } from "../../src/engine/docker.js";
import { execCapture, type ExecResult } from "../../src/engine/exec.js";
import { LABEL_PROJECT, networkName } from "../../src/engine/labels.js";
import { runProcess } from "../helpers/run-process.js";
import { addressOn, benchImage, benchProject, hostPort, serviceContainer, startHelper } from "./containers.js";
import { armDeadline, cleanUp, cleanups, meanCpu, measured, printCpu, waitQuiet, within } from "./shared.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const SCALE = Number(process.env.BENCH_SCALE ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_S ?? 1800) * 1000;
const TARGET = 1.2;
const root = resolve(import.meta.dirname, "..", "..");

type Place = "network" | "host";
type Workload = "select-only" | "tpcb-like";
type PathName = "direct" | "direct+TLS" | "link (TLS)" | "toxiproxy";
interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly sslmode: "disable" | "require";
}
const PATHS: readonly PathName[] = ["direct", "direct+TLS", "link (TLS)", "toxiproxy"];
const WORKLOADS: readonly Workload[] = ["select-only", "tpcb-like"];

// ---- deadline and cleanup: every step has one, and the whole run has a hard one -------------

const hardStop = armDeadline("bench:link", DEADLINE_MS);

// ---- images --------------------------------------------------------------------------------

/** `go install` Toxiproxy's server at the pinned version into the cache, once. */
async function ensureToxiproxyBinary(version: string): Promise<string> {
  const bin = join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "prodlike", "toxiproxy", version);
  const binary = join(bin, "server");
  if (await stat(binary).catch(() => null)) return binary;
  await mkdir(bin, { recursive: true });
  console.error(`building Toxiproxy ${version} from its Go module into ${bin} (once)`);
  await runHost("go", ["install", `github.com/Shopify/toxiproxy/v2/cmd/server@${version}`], { env: { ...process.env, GOBIN: bin, CGO_ENABLED: "0" }, timeoutMs: 600_000 });
  return binary;
}


function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/") as [string, string];
  const toInt = (address: string) => address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

// ---- pgbench -------------------------------------------------------------------------------

interface Credentials {
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

function conninfo(endpoint: Endpoint, credentials: Credentials): string {
  return `host=${endpoint.host} port=${endpoint.port} user=${credentials.user} dbname=${credentials.database} sslmode=${endpoint.sslmode} connect_timeout=10`;
}

function pgbenchArgs(workload: Workload): string[] {
  return ["-n", "-T", String(SECONDS), "-c", String(CLIENTS), "-j", String(THREADS), ...(workload === "select-only" ? ["-S"] : [])];
}

function parseTps(what: string, result: ExecResult): number {
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(result.stdout)?.[1];
  const failed = Number(/number of failed transactions: (\d+)/.exec(result.stdout)?.[1] ?? 0);
  if (result.exitCode !== 0 || !tps || failed > 0) {
    throw new Error(`pgbench ${what} failed (exit ${result.exitCode}, ${failed} failed transactions):\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-1500)}`);
  }
  return Number(tps);
}

/** A program on the host; only pgbench may exit non-zero (its output says why). */
async function runHost(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<ExecResult> {
  const { code, stdout, stderr } = await runProcess(command, args, options);
  if (code !== 0 && command !== "pgbench") throw new Error(`${command} exited with ${code}:\n${stderr.slice(-2000)}`);
  return { exitCode: code, stdout, stderr };
}

// ---- the run -------------------------------------------------------------------------------

const docker = await connectEngine();
const { dir, project: expectedProject } = await benchProject(docker, "link", "render-supabase");

try {
  // Built before `up`, so a missing Go fails in a second, not after the stack starts.
  const toxiproxyVersion = (await readFile(join(root, "images", "bench-toxiproxy", "VERSION"), "utf8")).trim();
  const toxiproxyBinary = await ensureToxiproxyBinary(toxiproxyVersion);
  const quiet = await waitQuiet(docker, expectedProject);
  console.error(`machine: ${quiet}`);
  await run(toxiproxyVersion, toxiproxyBinary, quiet);
} finally {
  // Still armed, unreferenced: if something kept the process alive after this, it ends it.
  hardStop.unref();
  await cleanUp();
}

async function run(toxiproxyVersion: string, toxiproxyBinary: string, quiet: string): Promise<void> {
  await using stack = await within(900_000, "prodlike up", up({ dir, overrides: { plan: "starter" } }));
  cleanups.push(() => stack.down({ volumes: true }));
  const { project } = stack.description;
  const network = networkName(project);

  // What the app connects to: its own DATABASE_URL, read inside its container.
  const appUrl = new URL((await within(60_000, "reading the app's DATABASE_URL", stack.exec(["printenv", "DATABASE_URL"]))).stdout.trim());
  const credentials: Credentials = {
    user: decodeURIComponent(appUrl.username),
    password: decodeURIComponent(appUrl.password),
    database: appUrl.pathname.slice(1) || "postgres",
  };
  const prodHost = appUrl.hostname;
  const prodPort = Number(appUrl.port || 5432);

  const networkInfo = await docker.getNetwork(network).inspect();
  const ipam = (networkInfo.IPAM?.Config ?? []) as { Subnet?: string; Gateway?: string }[];
  const subnet = ipam.find((c) => c.Subnet?.includes("."))?.Subnet;
  const gateway = ipam.find((c) => c.Gateway)?.Gateway;
  if (!subnet || !gateway) throw new Error(`network ${network} has no IPv4 subnet and gateway`);

  const [postgres, pgbouncer] = await Promise.all([serviceContainer(docker, project, "postgres"), serviceContainer(docker, project, "pgbouncer")]);
  const pgbouncerPort = Number(Object.keys(pgbouncer.Config.ExposedPorts ?? {})[0]?.split("/")[0] ?? 6432);
  const pgbouncerIp = addressOn(pgbouncer, network);

  // --- design: does the production host name resolve on the stack network already (a network
  // alias of a stack container), or does it need /etc/hosts pointing at the gateway (the links
  // in the prodlike process, listening on the gateway)?
  const aliased = await (async () => {
    for (const c of await docker.listContainers({ filters: { label: [`${LABEL_PROJECT}=${project}`] } })) {
      const aliases = (await docker.getContainer(c.Id).inspect()).NetworkSettings.Networks[network]?.Aliases ?? [];
      if (aliases.includes(prodHost)) return true;
    }
    return false;
  })();
  const extraHosts = aliased ? undefined : [`${prodHost}:${gateway}`];

  const pgbench = await startHelper(docker, {
    project,
    dir: stack.description.dir,
    service: "bench-pgbench",
    image: postgres.Config.Image,
    entrypoint: ["sleep", "infinity"],
    extraHosts,
  });
  const inBench = (cmd: string[], timeoutMs: number, what: string) =>
    within(timeoutMs, what, execCapture(docker, pgbench.id, cmd, { env: { PGPASSWORD: credentials.password } }));
  // The name must resolve inside the stack network (alias or /etc/hosts), never through outside DNS.
  const resolved = (await inBench(["getent", "hosts", prodHost], 30_000, `getent hosts ${prodHost}`)).stdout.trim().split(/\s+/)[0] ?? "";
  if (!resolved || !inSubnet(resolved, subnet)) {
    throw new Error(`${prodHost} resolves to "${resolved}" in the bench container, outside the stack network ${subnet}: refusing to send traffic there`);
  }
  const version = (await inBench(["pgbench", "--version"], 30_000, "pgbench --version")).stdout.trim();

  const toxiproxyImage = await benchImage(docker, "bench-toxiproxy", { "toxiproxy-server": toxiproxyBinary });
  const toxiproxy = await startHelper(docker, {
    project,
    dir: stack.description.dir,
    service: "bench-toxiproxy",
    image: toxiproxyImage,
    alias: "bench-toxiproxy",
    publish: [8474, prodPort],
  });
  const toxiproxyInfo = await toxiproxy.inspect();
  const api = `http://127.0.0.1:${hostPort(toxiproxyInfo, 8474)}`;
  await within(
    30_000,
    `Toxiproxy's API answering at ${api}/version`,
    (async () => {
      for (;;) {
        if ((await fetch(`${api}/version`).then((r) => r.ok, () => false))) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    })(),
  );
  const created = await fetch(`${api}/proxies`, {
    method: "POST",
    body: JSON.stringify({ name: "db", listen: `0.0.0.0:${prodPort}`, upstream: `${pgbouncerIp}:${pgbouncerPort}`, enabled: true }),
  });
  if (!created.ok) throw new Error(`creating the Toxiproxy proxy: ${created.status} ${await created.text()}`);
  const toxiproxyIp = addressOn(toxiproxyInfo, network);

  // Where each path is, seen from each place. The host reaches the link where the host-side
  // DATABASE_URL says, and PgBouncer and Toxiproxy on their published ports, when they have one.
  const hostUrl = new URL(stack.env.DATABASE_URL);
  const hostLinkOk = ["127.0.0.1", "localhost"].includes(hostUrl.hostname) || inSubnet(hostUrl.hostname, subnet);
  const pgbouncerHostPort = hostPort(pgbouncer, pgbouncerPort);
  const toxiproxyHostPort = hostPort(toxiproxyInfo, prodPort);
  const endpoints: Record<Place, Partial<Record<PathName, Endpoint>>> = {
    network: {
      direct: { host: pgbouncerIp, port: pgbouncerPort, sslmode: "disable" },
      "direct+TLS": { host: pgbouncerIp, port: pgbouncerPort, sslmode: "require" },
      "link (TLS)": { host: prodHost, port: prodPort, sslmode: "require" },
      toxiproxy: { host: toxiproxyIp, port: prodPort, sslmode: "disable" },
    },
    host: {
      ...(pgbouncerHostPort
        ? { direct: { host: "127.0.0.1", port: pgbouncerHostPort, sslmode: "disable" }, "direct+TLS": { host: "127.0.0.1", port: pgbouncerHostPort, sslmode: "require" } }
        : {}),
      ...(hostLinkOk ? { "link (TLS)": { host: hostUrl.hostname, port: Number(hostUrl.port || 5432), sslmode: "require" } } : {}),
      ...(toxiproxyHostPort ? { toxiproxy: { host: "127.0.0.1", port: toxiproxyHostPort, sslmode: "disable" } } : {}),
    },
  };
  const hostPgbench = await runHost("pgbench", ["--version"], { timeoutMs: 10_000 }).then(
    (r) => r.stdout.trim(),
    () => null,
  );
  const places: Place[] = hostPgbench ? ["network", "host"] : ["network"];

  // Initialise through PgBouncer as a client would; the runs then only read and update.
  const init = await inBench(["pgbench", "-i", "-q", "-s", String(SCALE), conninfo(endpoints.network.direct!, credentials)], 600_000, "pgbench -i");
  if (init.exitCode !== 0) throw new Error(`pgbench -i failed:\n${init.stderr.slice(-2000)}`);

  const runOnce = async (place: Place, workload: Workload, path: PathName): Promise<number> => {
    const endpoint = endpoints[place][path]!;
    const args = [...pgbenchArgs(workload), conninfo(endpoint, credentials)];
    const what = `${path} from the ${place} (${workload})`;
    const timeoutMs = (SECONDS + 90) * 1000;
    if (place === "network") return parseTps(what, await inBench(["pgbench", ...args], timeoutMs, `pgbench ${what}`));
    return parseTps(what, await runHost("pgbench", args, { env: { ...process.env, PGPASSWORD: credentials.password }, timeoutMs }));
  };

  const tps = new Map<string, number[]>();
  const disturbed = new Map<string, Set<string>>();
  const cpuByKey = new Map<string, Map<string, number>[]>();
  const key = (place: Place, workload: Workload, path: PathName) => `${place}|${workload}|${path}`;
  for (let round = 0; round < ROUNDS; round++) {
    for (const place of places) {
      for (const [w, workload] of WORKLOADS.entries()) {
        const available = PATHS.filter((path) => endpoints[place][path]);
        // Rotate the order so no path always runs first (TPC-B runs grow the tables a little).
        const shift = (round + w) % available.length;
        for (const path of [...available.slice(shift), ...available.slice(0, shift)]) {
          const { value, disturbedBy, cpu } = await measured(docker, project, () => runOnce(place, workload, path));
          const k = key(place, workload, path);
          tps.set(k, [...(tps.get(k) ?? []), value]);
          cpuByKey.set(k, [...(cpuByKey.get(k) ?? []), cpu]);
          if (disturbedBy.length > 0) disturbed.set(k, new Set([...(disturbed.get(k) ?? []), ...disturbedBy]));
          console.error(`  ${place.padEnd(7)} ${workload.padEnd(11)} ${path.padEnd(10)} ${value.toFixed(0)} tps${disturbedBy.length ? `  (also running: ${disturbedBy.join(", ")})` : ""}`);
        }
      }
    }
  }

  const median = (xs: readonly number[] | undefined) => (xs && xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : undefined);
  const cell = (x: number | undefined, width: number, k?: string) => `${x === undefined ? "-" : x.toFixed(0)}${k && disturbed.has(k) ? "*" : ""}`.padStart(width);
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? "-" : `${(a / b).toFixed(2)}x`).padStart(12);
  console.log(`prodlike db link vs PgBouncer directly vs Toxiproxy ${toxiproxyVersion} (no toxics), pgbench TPS, same stack, same run`);
  console.log(`  stack: ${stack.description.app.serviceName}, db profile ${stack.description.database.profile}, plan ${stack.description.app.plan}; the app connects to ${prodHost}:${prodPort} (${appUrl.searchParams.toString() || "no params"})`);
  console.log(`  ${version}: scale ${SCALE}, -c ${CLIENTS} -j ${THREADS}, ${SECONDS} s per run, ${ROUNDS === 1 ? "one run" : `median of ${ROUNDS} rounds`} per cell`);
  console.log(`  network: pgbench in a container of ${postgres.Config.Image} on ${network}; ${prodHost} ${aliased ? "is a network alias (no ExtraHosts)" : `-> ${gateway} via ExtraHosts (the gateway, where the links listen)`}`);
  console.log(`  host:    ${hostPgbench ? `${hostPgbench}; link at ${hostUrl.hostname}:${hostUrl.port}${hostLinkOk ? "" : " (not local: skipped)"}, PgBouncer ${pgbouncerHostPort ? `127.0.0.1:${pgbouncerHostPort}` : "not published"}, Toxiproxy 127.0.0.1:${toxiproxyHostPort}` : "no pgbench on PATH: skipped"}`);
  console.log("");
  console.log(`  ${"from".padEnd(8)}${"workload".padEnd(12)}${"direct".padStart(9)}${"direct+TLS".padStart(12)}${"link (TLS)".padStart(12)}${"toxiproxy".padStart(11)} |${"link/direct".padStart(12)}${"toxi/direct".padStart(12)}${"link/toxi".padStart(12)}${"link/TLSdir".padStart(12)}`);
  const verdicts: string[] = [];
  for (const place of places) {
    for (const workload of WORKLOADS) {
      const [d, dt, l, t] = PATHS.map((path) => median(tps.get(key(place, workload, path))));
      const [kd, kdt, kl, kt] = PATHS.map((path) => key(place, workload, path));
      console.log(
        `  ${place.padEnd(8)}${workload.padEnd(12)}${cell(d, 9, kd)}${cell(dt, 12, kdt)}${cell(l, 12, kl)}${cell(t, 11, kt)} |${ratio(l, d)}${ratio(t, d)}${ratio(l, t)}${ratio(l, dt)}`,
      );
      if (l !== undefined && t !== undefined) verdicts.push(`${place} ${workload} ${(l / t).toFixed(2)}x ${l / t >= TARGET ? "meets" : "MISSES"}`);
    }
  }
  console.log("");
  console.log(`  target: link (TLS) >= ${TARGET.toFixed(2)}x Toxiproxy's TPS: ${verdicts.join("; ")}`);
  console.log("");
  console.log(`  CPU during each run, % of one core, mean of the rounds (machine: everything, ${cpus().length * 100}% = all cores; this process: the bench and whatever of the stack runs in-process; rest: the kernel, host processes, other stacks):`);
  const cpuRows = places.flatMap((place) =>
    WORKLOADS.flatMap((workload) =>
      PATHS.filter((path) => cpuByKey.has(key(place, workload, path))).map((path) => ({ label: `${place} ${workload} ${path}`, cpu: meanCpu(cpuByKey.get(key(place, workload, path))) })),
    ),
  );
  printCpu(cpuRows, 34);
  const intruders = new Set([...disturbed.values()].flatMap((names) => [...names]));
  console.log(`  machine: ${cpus().length} CPUs; before up: ${quiet}; load at the end ${loadavg()[0]!.toFixed(2)}`);
  if (intruders.size > 0) console.log(`  * measured while other stacks or containers ran on the engine (disturbed): ${[...intruders].join(", ")}`);
}
