import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectEngine } from "../../../src/engine/docker.js";
import { LABEL_RESTARTS } from "../../../src/services/app.js";
import { downFixture, fetchApp, platformLog, runCli, upFixture, type FixtureStack } from "../../helpers/cli.js";

/**
 * Issue 4 at the stack level, through the CLI on the real engine: the edge in front of the
 * app container on the free plan (sleep, cold start, ephemeral disk, 512 MB, crash restarts)
 * and the two classic proxy misconfigurations of a Django app behind Render's router.
 */
type Stack = FixtureStack;

const COLD_START_DELAY_MS = 2_000;
const PUBLIC_HOST = "render-supabase.onrender.com";

function start(options: { args?: string[]; prodlikeYaml?: string }): Promise<Stack> {
  return upFixture("render-supabase", options.args, options.prodlikeYaml ? { "prodlike.yaml": options.prodlikeYaml } : {});
}

const stop = downFixture;

interface LogLine {
  time: number;
  msg: string;
  [key: string]: unknown;
}

/** The stack's own log: the platform container's (edge, app instance), JSON lines. */
async function stackLog(dir: string): Promise<LogLine[]> {
  return (await platformLog(dir)) as LogLine[];
}

async function appLogs(dir: string): Promise<string> {
  return (await runCli(["logs", dir, "app", "--tail", "400"])).stdout;
}

interface AppStatus {
  container: string;
  state: string;
  restarts: number;
}

async function appStatus(dir: string): Promise<AppStatus> {
  const result = await runCli(["status", dir, "-o", "json"]);
  expect(result.code, result.stderr).toBe(0);
  const status = JSON.parse(result.stdout) as { services: (AppStatus & { name: string })[] };
  const app = status.services.find((s) => s.name === "app");
  if (!app) throw new Error(`no app in status:\n${result.stdout}`);
  return app;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

describe("the edge in front of the app on the free plan (coldStartDelay 2s, SECURE_SSL_REDIRECT behind the proxy header)", () => {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await start({ args: ["--plan", "free", "-e", "SECURE_SSL_REDIRECT=true"], prodlikeYaml: `coldStartDelay: ${COLD_START_DELAY_MS / 1000}s\n` });
  });
  afterAll(() => stop(stack));

  it("serves 200 with SECURE_SSL_REDIRECT=true when the app trusts x-forwarded-proto", async () => {
    const response = await fetchApp(`${stack!.url}/auth/health/`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { database: string }).database).toBe("ok");
  });

  it("sleeps after 16 idle minutes; the next request waits for a fresh container plus the cold-start delay, and the disk is empty", async () => {
    const { url, fixture } = stack!;
    const written = await fetchApp(`${url}/disk/`, { method: "POST", body: new URLSearchParams({ text: "written before the sleep" }) });
    expect(written.status).toBe(201);
    expect(((await (await fetchApp(`${url}/disk/`)).json()) as { text: string }).text).toBe("written before the sleep");
    const before = await appStatus(fixture.dir);

    const idle = await runCli(["idle", "16m", fixture.dir]);
    expect(idle.code, idle.stderr).toBe(0);
    await expect.poll(async () => (await appStatus(fixture.dir).catch(() => null))?.container ?? "gone", { timeout: 30_000 }).not.toBe(before.container);

    const { value: response, ms } = await timed(() => fetchApp(`${url}/disk/`));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ exists: false, text: null });
    const after = await appStatus(fixture.dir);
    expect(after.container).not.toBe(before.container);
    expect(after.state).toBe("running");

    // What the stack printed: the fresh container is up, then the edge routes to it after the delay.
    const log = await stackLog(fixture.dir);
    const up = log.filter((l) => l.msg === "app is up" && l.container === after.container).at(-1);
    const woke = log.filter((l) => l.msg === "woke up").at(-1);
    expect(up, "an 'app is up' line for the new container").toBeDefined();
    expect(woke, "a 'woke up' line").toBeDefined();
    const addedMs = woke!.time - up!.time;
    console.info(
      `wake: request ${Math.round(ms)} ms, edge wakeMs ${String(woke!.wakeMs)}, container boot ${String(up!.bootMs)} ms, added after boot ${addedMs} ms (configured ${COLD_START_DELAY_MS} ms)`,
    );
    expect(addedMs).toBeGreaterThanOrEqual(COLD_START_DELAY_MS);
    expect(addedMs).toBeLessThanOrEqual(COLD_START_DELAY_MS * 1.05);
    expect(Number(woke!.wakeMs)).toBeGreaterThanOrEqual(COLD_START_DELAY_MS);
    expect(ms).toBeGreaterThanOrEqual(Number(woke!.wakeMs));
    // The request was held, not refused, and the access log saw it take the whole wake.
    const access = log.filter((l) => l.msg === "request" && l.path === "/disk/" && l.method === "GET").at(-1);
    expect(access).toMatchObject({ status: 200 });
    expect(Number(access!.durationMs)).toBeGreaterThanOrEqual(COLD_START_DELAY_MS);
  });

  it("holds ten concurrent requests during one wake and answers all of them with 200", async () => {
    const { url, fixture } = stack!;
    const slept = await runCli(["sleep", fixture.dir]);
    expect(slept.code, slept.stderr).toBe(0);
    const wakesBefore = (await stackLog(fixture.dir)).filter((l) => l.msg === "woke up").length;

    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        timed(async () => {
          const response = await fetchApp(`${url}/cache/?n=${i}`);
          await response.arrayBuffer();
          return response.status;
        }),
      ),
    );
    expect(results.map((r) => r.value)).toEqual(Array(10).fill(200));
    for (const r of results) expect(r.ms).toBeGreaterThanOrEqual(COLD_START_DELAY_MS);
    const wakes = (await stackLog(fixture.dir)).filter((l) => l.msg === "woke up").length;
    expect(wakes - wakesBefore).toBe(1);
  });

  it("kills the worker that allocates 600 MB on 512 MB, says why, and serves the next request", async () => {
    const { url, fixture } = stack!;
    const before = await appStatus(fixture.dir);
    const small = await fetchApp(`${url}/alloc/?mb=64`);
    expect(small.status).toBe(200);

    const big = await fetchApp(`${url}/alloc/?mb=600`);
    await big.arrayBuffer();
    expect([500, 502]).toContain(big.status);
    await expect.poll(() => appLogs(fixture.dir), { timeout: 15_000 }).toMatch(/Worker \(pid:\d+\) was sent SIGKILL! Perhaps out of memory\?/);
    await expect
      .poll(async () => (await stackLog(fixture.dir)).filter((l) => l.level === 40 && /free plan's memory \(512 MB\) was exceeded/.test(l.msg)).length, {
        timeout: 15_000,
      })
      .toBe(1);

    const next = await fetchApp(`${url}/auth/health/`);
    expect(next.status).toBe(200);
    // The worker died, not the instance: same container, no restart.
    const after = await appStatus(fixture.dir);
    expect(after.container).toBe(before.container);
    const docker = await connectEngine();
    expect((await docker.getContainer(after.container).inspect()).Config.Labels[LABEL_RESTARTS]).toBe("0");
  });

  it("keeps every container's log bounded: json-file, rotated at 10 MB, 3 files (a stack under load logs each request)", async () => {
    const docker = await connectEngine();
    const containers = await docker.listContainers({ filters: { label: [`prodlike.project=${stack!.fixture.project}`] } });
    expect(containers.map((c) => c.Labels["prodlike.service"]).sort()).toEqual(expect.arrayContaining(["app", "platform", "postgres"]));
    for (const c of containers) {
      expect((await docker.getContainer(c.Id).inspect()).HostConfig.LogConfig, c.Names[0]).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
    }
  });

  it("replaces an instance whose process exits with a fresh container and counts the restart (wakes are not restarts)", async () => {
    const { url, fixture } = stack!;
    const before = await appStatus(fixture.dir);
    const crashed = await fetchApp(`${url}/crash/`, { method: "POST" });
    expect(crashed.status).toBe(202);

    await expect
      .poll(
        async () => {
          const status = await appStatus(fixture.dir);
          const health = await fetchApp(`${url}/auth/health/`).then((r) => r.status, () => 0);
          return status.container !== before.container && status.state === "running" && health === 200;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true);
    const log = await stackLog(fixture.dir);
    expect(log.some((l) => l.msg.startsWith("the app instance exited: starting a fresh one"))).toBe(true);

    const after = await appStatus(fixture.dir);
    const docker = await connectEngine();
    const labels = (await docker.getContainer(after.container).inspect()).Config.Labels;
    expect(labels[LABEL_RESTARTS]).toBe("1");
    expect(after.restarts).toBe(1);
  });
});

describe("proxy misconfigurations through the edge", () => {
  let loop: Stack | undefined;
  let hosts: Stack | undefined;
  beforeAll(async () => {
    // Two stacks at once: each is one `up`, and neither needs the other.
    const [a, b] = await Promise.allSettled([
      start({ args: ["--plan", "starter", "-e", "SECURE_SSL_REDIRECT=true", "-e", "TRUST_X_FORWARDED_PROTO=false"] }),
      start({ args: ["--plan", "starter", "-e", "ALLOWED_HOSTS=example.com", "-e", "ALLOW_RENDER_EXTERNAL_HOSTNAME=false"] }),
    ]);
    if (a.status === "fulfilled") loop = a.value;
    if (b.status === "fulfilled") hosts = b.value;
    for (const result of [a, b]) if (result.status === "rejected") throw result.reason;
  });
  afterAll(async () => {
    await Promise.all([stop(loop), stop(hosts)]);
  });

  it("redirects forever without SECURE_PROXY_SSL_HEADER: following the Location comes back to the same URL", async () => {
    const seen: string[] = [];
    let path = "/auth/health/";
    for (let hop = 0; hop < 5; hop++) {
      const response = await fetchApp(`${loop!.url}${path}`);
      expect(response.status).toBe(301);
      const location = response.headers.get("location")!;
      seen.push(location);
      // The app redirects to https://<public host>/…; the front points that at the local origin
      // the browser used, so the browser stays on the front, and loops as it does on Render.
      const next = new URL(location);
      expect(next.origin).toBe(new URL(loop!.url).origin);
      path = `${next.pathname}${next.search}`;
    }
    expect(new Set(seen)).toEqual(new Set([`${loop!.url}/auth/health/`]));
  });

  it("answers 400 when ALLOWED_HOSTS lacks the production host", async () => {
    const response = await fetchApp(`${hosts!.url}/auth/health/`);
    expect(response.status).toBe(400);
    await expect.poll(() => appLogs(hosts!.fixture.dir), { timeout: 10_000 }).toContain(`Invalid HTTP_HOST header: '${PUBLIC_HOST}'`);
  });
});
