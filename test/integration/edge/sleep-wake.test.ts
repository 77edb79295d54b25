import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { VirtualClock } from "../../../src/clock.js";
import type { Edge, EdgeOptions, StateChange } from "../../../src/edge/index.js";
import { get, useEdges, useTrustingClient, type LocalBackend, type LogEntry } from "./harness.js";

const MIN = 60_000;
const client = useTrustingClient();
const edges = useEdges(client, { sleepAfterMs: 15 * MIN });
let backend: LocalBackend;
let clock: VirtualClock;
let edge: Edge;
let changes: StateChange[];
let entries: LogEntry[];

async function startEdge(options: Partial<EdgeOptions> = {}): Promise<void> {
  ({ edge, backend, clock, changes, entries } = await edges.start(options));
}

describe("sleep after idle, wake on the next request", () => {
  it("sleeps after 15 idle minutes of virtual time and wakes a fresh instance for the next request", async () => {
    await startEdge({ coldStartDelayMs: 300 });
    expect((await get(client.agent, `${edge.httpsUrl}/before`)).status).toBe(200);
    const first = backend.upstream;
    await clock.advance(14 * MIN);
    expect(edge.state).toBe("running");
    await clock.advance(2 * MIN);
    await expect.poll(() => backend.stops).toBe(1);
    expect(edge.state).toBe("sleeping");
    expect(first.listening).toBe(false);

    const started = performance.now();
    const reply = await get(client.agent, `${edge.httpsUrl}/after`);
    const waited = performance.now() - started;
    expect(reply.status).toBe(200);
    expect(backend.upstream).not.toBe(first); // a fresh instance served it
    expect(backend.upstream.seen.map((s) => s.url)).toEqual(["/after"]);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(changes.map((c) => c.state)).toEqual(["sleeping", "waking", "running"]);
    expect(changes[0]!.reason).toBe("no inbound traffic for 15 min");
  });

  it("does not sleep while requests keep coming", async () => {
    await startEdge();
    for (let i = 0; i < 4; i++) {
      await clock.advance(10 * MIN);
      expect((await get(client.agent, `${edge.httpsUrl}/tick`)).status).toBe(200);
    }
    expect(backend.stops).toBe(0);
    expect(edge.state).toBe("running");
  });

  it("never sleeps without sleepAfterMs (paid plans)", async () => {
    await startEdge({ sleepAfterMs: undefined });
    await get(client.agent, `${edge.httpsUrl}/`);
    await clock.advance(24 * 60 * MIN);
    expect(edge.state).toBe("running");
    expect(backend.stops).toBe(0);
  });

  it("holds ten concurrent requests during a wake and serves them all, in arrival order", async () => {
    await startEdge({ startAsleep: true });
    const release = backend.pause();
    const replies: Promise<{ status: number }>[] = [];
    for (let i = 0; i < 10; i++) {
      replies.push(get(client.agent, `${edge.httpsUrl}/r${i}`));
      await expect.poll(() => edge.heldRequests).toBe(i + 1);
    }
    expect(edge.state).toBe("waking");
    release();
    const statuses = (await Promise.all(replies)).map((r) => r.status);
    expect(statuses).toEqual(Array(10).fill(200));
    expect(backend.starts).toBe(1);
    expect(backend.upstream.seen.map((s) => s.url)).toEqual(Array.from({ length: 10 }, (_, i) => `/r${i}`));
  });

  it("answers a failed wake with an empty 503 and x-render-routing: hibernate-wake-error, then wakes on a later request", async () => {
    await startEdge({ startAsleep: true });
    backend.failNext = "gunicorn exited with status 3";
    const release = backend.pause();
    const pending = [get(client.agent, `${edge.httpsUrl}/a`), get(client.agent, `${edge.httpsUrl}/b`)];
    await expect.poll(() => edge.heldRequests).toBe(2);
    release();
    const replies = await Promise.all(pending);
    for (const reply of replies) {
      expect(reply.status).toBe(503);
      expect(reply.text).toBe("");
      expect(reply.headers["x-render-routing"]).toBe("hibernate-wake-error");
    }
    expect(entries.some((e) => e.msg === "wake failed" && String(e.err).includes("gunicorn exited"))).toBe(true);
    expect(edge.state).toBe("sleeping");
    expect((await get(client.agent, `${edge.httpsUrl}/later`)).status).toBe(200);
  });

  it("gives up a wake that exceeds wakeTimeoutMs with the same 503", async () => {
    await startEdge({ startAsleep: true, wakeTimeoutMs: 300 });
    backend.bootMs = 2_000;
    const started = performance.now();
    const reply = await get(client.agent, `${edge.httpsUrl}/slow-boot`);
    expect(reply.status).toBe(503);
    expect(reply.headers["x-render-routing"]).toBe("hibernate-wake-error");
    expect(reply.text).toBe("");
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("sleep() and wake() drive it by hand", async () => {
    await startEdge({ sleepAfterMs: undefined });
    await get(client.agent, `${edge.httpsUrl}/`);
    await edge.sleep();
    expect(edge.state).toBe("sleeping");
    expect(backend.upstream.listening).toBe(false);
    await edge.wake();
    expect(edge.state).toBe("running");
    expect(backend.upstream.listening).toBe(true);
    expect(backend.starts).toBe(2);
  });

  it("counts WebSocket messages as traffic and closes open sockets when the instance sleeps", async () => {
    await startEdge();
    const ws = new WebSocket(`wss://127.0.0.1:${edge.ports.https}/ws/`, { ca: client.ca.certPem });
    await new Promise<void>((resolve, reject) => ws.once("open", () => resolve()).once("error", reject));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    const roundTrip = async (): Promise<void> => {
      const answer = new Promise((resolve) => ws.once("message", resolve));
      ws.send("ping");
      await answer;
    };
    await roundTrip();
    await clock.advance(10 * MIN);
    await roundTrip(); // a message 10 minutes in: the idle span starts over
    await clock.advance(10 * MIN);
    expect(edge.state).toBe("running");
    await clock.advance(6 * MIN);
    await expect.poll(() => edge.state).toBe("sleeping");
    expect(await closed).toBe(1006); // dropped with the instance, as a removed container drops it
  });
});

describe("holding requests during a deploy", () => {
  it("parks requests while a reload runs and serves them when it is done", async () => {
    await startEdge();
    expect((await get(client.agent, `${edge.httpsUrl}/warm`)).status).toBe(200);
    let finish!: () => void;
    const reloading = edge.hold(() => new Promise<string>((resolve) => (finish = () => resolve("reloaded"))));
    await expect.poll(() => edge.state).toBe("restarting");
    const during = get(client.agent, `${edge.httpsUrl}/during`);
    await expect.poll(() => edge.heldRequests).toBe(1);
    finish();
    expect(await reloading).toBe("reloaded");
    expect((await during).status).toBe(200);
    expect(edge.state).toBe("running");
  });

  it("keeps the previous version serving when the reload fails", async () => {
    await startEdge();
    expect((await get(client.agent, `${edge.httpsUrl}/warm`)).status).toBe(200);
    let fail!: () => void;
    const reloading = edge.hold(() => new Promise<never>((_, reject) => (fail = () => reject(new Error("SyntaxError in views.py")))));
    await expect.poll(() => edge.state).toBe("restarting");
    const during = get(client.agent, `${edge.httpsUrl}/during`);
    await expect.poll(() => edge.heldRequests).toBe(1);
    fail();
    await expect(reloading).rejects.toThrow("SyntaxError in views.py");
    expect((await during).status).toBe(200);
    expect(edge.state).toBe("running");
  });
});
