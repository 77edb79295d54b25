import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { request } from "undici";
import { useEdges, useTrustingClient, type EdgeRun } from "./harness.js";

/**
 * Sleep, wake, redeploy and crash restart in any order, however close together, under load:
 * every request gets an answer, and the only failures are 502s of requests that were at an
 * instance while it crashed (as on Render). Schedules are generated from a fixed seed
 * (fast-check), and every request is counted by what it got.
 */
const client = useTrustingClient();
const edges = useEdges(client);

const CLIENTS = 30;
/** A request that gets nothing in this long counts as unanswered. */
const CLIENT_TIMEOUT_MS = 20_000;
type Event = "sleep" | "wake" | "redeploy" | "crash";

interface Tally {
  ok: number;
  byStatus: Record<string, number>;
  unanswered: string[];
  /** Requests that were not answered 200, with when they ran. */
  failed: { status: number; from: number; to: number }[];
  /** When each crash ran, from the kill until the fresh instance listened. */
  crashes: { from: number; to: number }[];
}

/** CLIENTS loops of requests (half of them slow: 200 ms in the app) until `until` resolves. */
async function load(run: EdgeRun, until: Promise<void>, tally: Tally): Promise<void> {
  let done = false;
  void until.finally(() => (done = true));
  const one = async (path: string): Promise<void> => {
    const from = performance.now();
    try {
      const res = await request(`${run.edge.httpsUrl}${path}`, { dispatcher: client.agent, headersTimeout: CLIENT_TIMEOUT_MS, bodyTimeout: CLIENT_TIMEOUT_MS });
      await res.body.text();
      tally.byStatus[res.statusCode] = (tally.byStatus[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 200) tally.ok++;
      else tally.failed.push({ status: res.statusCode, from, to: performance.now() });
    } catch (err) {
      tally.unanswered.push(`${path}: ${(err as Error).message}`);
    }
  };
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, n) => {
      for (let i = 0; !done && i < 10_000; i++) await one(n % 2 ? "/slow" : `/fast/${i}`);
    }),
  );
}

async function apply(run: EdgeRun, event: Event, tally: Tally): Promise<void> {
  if (event === "sleep") await run.edge.sleep();
  else if (event === "wake") await run.edge.wake();
  else if (event === "redeploy") await run.edge.hold(() => run.backend.redeploy());
  else {
    const window = { from: performance.now(), to: Number.POSITIVE_INFINITY };
    tally.crashes.push(window);
    await run.backend.crash();
    window.to = performance.now();
  }
}

/** A 502 of a request that overlapped a crash is the crash's; anything else is not explained. */
function unexplained(tally: Tally): { status: number; from: number; to: number }[] {
  return tally.failed.filter((f) => f.status !== 502 || !tally.crashes.some((c) => f.from <= c.to && f.to >= c.from));
}

describe("sleep, wake, redeploy and crash restart in any order under load", () => {
  it("answers every request from the app: no 503, none left hanging, a 502 only for a request at a crashing instance (seeded schedules)", async () => {
    const schedules = fc.array(fc.record({ event: fc.constantFrom<Event>("sleep", "wake", "redeploy", "crash"), gapMs: fc.integer({ min: 0, max: 150 }) }), { minLength: 3, maxLength: 8 });
    const counts: string[] = [];
    await fc.assert(
      fc.asyncProperty(schedules, async (schedule) => {
        const run = await edges.start();
        run.backend.liveTargets = true;
        const tally: Tally = { ok: 0, byStatus: {}, unanswered: [], failed: [], crashes: [] };
        let finish!: () => void;
        const until = new Promise<void>((resolve) => (finish = resolve));
        const traffic = load(run, until, tally);
        try {
          for (const { event, gapMs } of schedule) {
            await new Promise((resolve) => setTimeout(resolve, gapMs));
            // Not awaited one by one: the next event may come while this one runs, as a user's commands may.
            void apply(run, event, tally);
          }
          await run.edge.wake();
        } finally {
          finish();
          await traffic;
          await run.edge.stop();
        }
        counts.push(`${schedule.map((s) => s.event).join(",")}: ${JSON.stringify(tally.byStatus)}${tally.failed.length ? ` (${tally.failed.length} at a crash)` : ""}`);
        const notExplained = unexplained(tally);
        // On a failure, the edge's timeline says which event the errors followed.
        if (notExplained.length) console.log(run.entries.filter((e) => e.msg !== "request").map((e) => `${e.time} ${e.msg} ${e.state ?? ""} ${e.reason ?? ""} ${e.target ?? ""}`).join("\n"));
        expect(tally.unanswered).toEqual([]);
        expect({ notExplained, crashes: tally.crashes.length }).toEqual({ notExplained: [], crashes: tally.crashes.length });
        if (!schedule.some((s) => s.event === "crash")) expect(tally.byStatus).toEqual({ "200": tally.ok });
        expect(tally.ok).toBeGreaterThan(0);
      }),
      { numRuns: 10, seed: 1414, endOnFailure: true },
    );
    console.log(`requests by status per schedule:\n${counts.join("\n")}`);
  }, 180_000);

  it("answers requests held at a stop with Render's 503 instead of a reset", async () => {
    const run = await edges.start({ startAsleep: true });
    const release = run.backend.pause();
    const held = Array.from({ length: 10 }, () =>
      request(`${run.edge.httpsUrl}/`, { dispatcher: client.agent }).then(
        async (res) => {
          await res.body.text();
          return res.statusCode;
        },
        (err: Error) => `error: ${err.message}`,
      ),
    );
    await expect.poll(() => run.edge.heldRequests).toBe(10);
    await run.edge.stop();
    release();
    expect(await Promise.all(held)).toEqual(Array(10).fill(503));
  });
});
