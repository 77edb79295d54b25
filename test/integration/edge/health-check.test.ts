import { describe, expect, it } from "vitest";
import type { VirtualClock } from "../../../src/clock.js";
import type { Edge, EdgeOptions, HealthEvent, StateChange } from "../../../src/edge/index.js";
import { get, useEdges, useTrustingClient, type LocalBackend } from "./harness.js";

const client = useTrustingClient();
const edges = useEdges(client, { healthCheck: { path: "/healthz" } });
let backend: LocalBackend;
let clock: VirtualClock;
let edge: Edge;
let health: HealthEvent[];
let changes: StateChange[];

async function startEdge(options: Partial<EdgeOptions> = {}): Promise<void> {
  ({ edge, backend, clock, health, changes } = await edges.start(options));
  expect((await get(client.agent, `${edge.httpsUrl}/`)).status).toBe(200);
}

/** One probe period of virtual time, then wait for that probe's answer. */
async function probe(): Promise<HealthEvent> {
  const count = health.length;
  await clock.advance(5_000);
  await expect.poll(() => health.length).toBe(count + 1);
  return health[count]!;
}

describe("health checks as Render does them", () => {
  it("GETs the path with the public Host every 5 s and counts 2xx/3xx as healthy", async () => {
    await startEdge();
    expect(await probe()).toMatchObject({ healthy: true, status: 200, failingForMs: 0 });
    backend.upstream.healthStatus = 302;
    expect(await probe()).toMatchObject({ healthy: true, status: 302 });
    backend.upstream.healthStatus = 404;
    expect(await probe()).toMatchObject({ healthy: false, status: 404, failingForMs: 5_000 });
    expect(backend.upstream.healthSeen[0]!.host).toBe("shop.onrender.com");
  });

  it("unroutes after 15 s failing, holds requests, and routes them once healthy again", async () => {
    await startEdge();
    backend.upstream.healthStatus = 500;
    await probe();
    await probe();
    expect(edge.state).toBe("running");
    expect((await probe()).failingForMs).toBe(15_000);
    expect(edge.state).toBe("unrouted");

    const held = get(client.agent, `${edge.httpsUrl}/held`);
    await expect.poll(() => edge.heldRequests).toBe(1);
    expect(backend.upstream.seen.map((s) => s.url)).not.toContain("/held");
    backend.upstream.healthStatus = 200;
    await probe();
    expect((await held).status).toBe(200);
    expect(changes.map((c) => c.state)).toEqual(["unrouted", "running"]);
  });

  it("answers a request held past holdTimeoutMs while unrouted with an empty 503", async () => {
    await startEdge({ holdTimeoutMs: 300 });
    backend.upstream.healthStatus = 500;
    for (let i = 0; i < 3; i++) await probe();
    expect(edge.state).toBe("unrouted");
    const reply = await get(client.agent, `${edge.httpsUrl}/held`);
    expect(reply.status).toBe(503);
    expect(reply.text).toBe("");
    expect(reply.headers["x-render-routing"]).toBeUndefined();
  });

  it("restarts the instance after 60 s failing and serves held requests from the fresh one", async () => {
    await startEdge();
    const sick = backend.upstream;
    sick.healthStatus = 503;
    for (let i = 0; i < 11; i++) await probe();
    expect(edge.state).toBe("unrouted");
    const held = get(client.agent, `${edge.httpsUrl}/after-restart`);
    await expect.poll(() => edge.heldRequests).toBe(1);
    await clock.advance(5_000); // 60 s failing
    await expect.poll(() => backend.restarts).toBe(1);
    expect((await held).status).toBe(200);
    expect(backend.upstream).not.toBe(sick);
    expect(backend.upstream.seen.map((s) => s.url)).toEqual(["/after-restart"]);
    expect(changes.map((c) => c.state)).toEqual(["unrouted", "restarting", "running"]);
  });

  it("fails a probe that gets no answer within the timeout", async () => {
    await startEdge({ healthCheck: { path: "/healthz", timeoutMs: 200 } });
    backend.upstream.healthStatus = 0;
    const event = await probe();
    expect(event.healthy).toBe(false);
    expect(event.error).toBe("no answer within 200 ms");
  });

  it("probes the port over TCP when there is no health check path", async () => {
    await startEdge({ healthCheck: { path: null } });
    expect(await probe()).toMatchObject({ healthy: true });
    const { port } = backend.upstream.target;
    await backend.upstream.stop();
    const down = await probe();
    expect(down.healthy).toBe(false);
    expect(down.error).toMatch(/^ECONNREFUSED/);
    await backend.upstream.start(port);
    expect(await probe()).toMatchObject({ healthy: true, failingForMs: 0 });
    expect(backend.upstream.healthSeen).toHaveLength(0);
  });

  it("does not probe a sleeping instance", async () => {
    await startEdge({ sleepAfterMs: 60_000 });
    await probe();
    await clock.advance(60_000);
    await expect.poll(() => edge.state).toBe("sleeping");
    const count = health.length;
    await clock.advance(60_000);
    expect(health.length).toBe(count);
    expect(backend.starts).toBe(1);
  });
});
