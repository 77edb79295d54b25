import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { HealthMonitor, type HealthEvent, type ProbeResult } from "../../../src/edge/health-check.js";

const policy = { path: "/healthz", intervalMs: 5_000, timeoutMs: 5_000, unrouteAfterMs: 15_000, restartAfterMs: 60_000 };

function setup(results: () => ProbeResult) {
  const clock = new VirtualClock();
  const calls: string[] = [];
  const events: HealthEvent[] = [];
  const monitor = new HealthMonitor(clock, policy, {
    probe: async () => results(),
    onResult: (event) => events.push(event),
    onUnroute: () => calls.push("unroute"),
    onRecover: () => calls.push("recover"),
    onRestartDue: () => calls.push("restart"),
  });
  const tick = async (): Promise<void> => {
    const count = events.length;
    await clock.advance(policy.intervalMs);
    await expect.poll(() => events.length).toBe(count + 1);
  };
  return { clock, monitor, calls, events, tick };
}

describe("HealthMonitor", () => {
  it("unroutes after 15 s of failures, recovers on the next pass", async () => {
    let healthy = false;
    const { monitor, calls, events, tick } = setup(() => ({ healthy, status: healthy ? 200 : 500 }));
    monitor.start();
    await tick();
    await tick();
    expect(calls).toEqual([]);
    await tick();
    expect(calls).toEqual(["unroute"]);
    expect(events.map((e) => e.failingForMs)).toEqual([5_000, 10_000, 15_000]);
    healthy = true;
    await tick();
    expect(calls).toEqual(["unroute", "recover"]);
    expect(events.at(-1)!.failingForMs).toBe(0);
    monitor.stop();
  });

  it("asks for a restart after 60 s and stops probing until started again", async () => {
    const { clock, monitor, calls, events, tick } = setup(() => ({ healthy: false, error: "ECONNREFUSED" }));
    monitor.start();
    for (let i = 0; i < 12; i++) await tick();
    expect(calls).toEqual(["unroute", "restart"]);
    await clock.advance(30_000);
    expect(events).toHaveLength(12);
    monitor.start(); // a fresh instance: the failure history starts over
    await tick();
    expect(events.at(-1)!.failingForMs).toBe(5_000);
    monitor.stop();
  });

  it("counts a throwing probe as a failure", async () => {
    const { monitor, events, tick } = setup(() => {
      throw new Error("boom");
    });
    monitor.start();
    await tick();
    expect(events[0]).toMatchObject({ healthy: false, error: "boom" });
    monitor.stop();
  });

  it("does not probe after stop()", async () => {
    const { clock, monitor, events } = setup(() => ({ healthy: true }));
    monitor.start();
    monitor.stop();
    await clock.advance(60_000);
    expect(events).toHaveLength(0);
  });
});
