import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { request } from "undici";
import { useEdges, useTrustingClient, type EdgeRun } from "./harness.js";

/**
 * Sleep, wake and redeploy in any order, however close together, under load: every request
 * gets an answer from the app. Schedules are generated from a fixed seed (fast-check), and
 * every request is counted by what it got.
 */
const client = useTrustingClient();
const edges = useEdges(client);

const CLIENTS = 30;
/** A request that gets nothing in this long counts as unanswered. */
const CLIENT_TIMEOUT_MS = 20_000;
type Event = "sleep" | "wake" | "redeploy";

interface Tally {
  ok: number;
  byStatus: Record<string, number>;
  unanswered: string[];
}

/** CLIENTS loops of requests (half of them slow: 200 ms in the app) until `until` resolves. */
async function load(run: EdgeRun, until: Promise<void>, tally: Tally): Promise<void> {
  let done = false;
  void until.finally(() => (done = true));
  const one = async (path: string): Promise<void> => {
    try {
      const res = await request(`${run.edge.httpsUrl}${path}`, { dispatcher: client.agent, headersTimeout: CLIENT_TIMEOUT_MS, bodyTimeout: CLIENT_TIMEOUT_MS });
      await res.body.text();
      tally.byStatus[res.statusCode] = (tally.byStatus[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 200) tally.ok++;
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

async function apply(run: EdgeRun, event: Event): Promise<void> {
  if (event === "sleep") await run.edge.sleep();
  else if (event === "wake") await run.edge.wake();
  else await run.edge.hold(() => run.backend.redeploy());
}

describe("sleep, wake and redeploy in any order under load", () => {
  it("answers every request from the app: no 502, no 503, none left hanging (seeded schedules)", async () => {
    const schedules = fc.array(fc.record({ event: fc.constantFrom<Event>("sleep", "wake", "redeploy"), gapMs: fc.integer({ min: 0, max: 150 }) }), { minLength: 3, maxLength: 8 });
    const counts: string[] = [];
    await fc.assert(
      fc.asyncProperty(schedules, async (schedule) => {
        const run = await edges.start();
        const tally: Tally = { ok: 0, byStatus: {}, unanswered: [] };
        let finish!: () => void;
        const until = new Promise<void>((resolve) => (finish = resolve));
        const traffic = load(run, until, tally);
        try {
          for (const { event, gapMs } of schedule) {
            await new Promise((resolve) => setTimeout(resolve, gapMs));
            // Not awaited one by one: the next event may come while this one runs, as a user's commands may.
            void apply(run, event);
          }
          await run.edge.wake();
        } finally {
          finish();
          await traffic;
          await run.edge.stop();
        }
        counts.push(`${schedule.map((s) => s.event).join(",")}: ${JSON.stringify(tally.byStatus)}`);
        const upstreamErrors = run.entries.filter((e) => e.msg === "upstream error" || e.msg === "no app instance to route to").map((e) => JSON.stringify(e));
        // On a failure, the edge's timeline says which event the errors followed.
        if (upstreamErrors.length) console.log(run.entries.filter((e) => e.msg !== "request").map((e) => `${e.time} ${e.msg} ${e.state ?? ""} ${e.reason ?? ""} ${e.target ?? ""}`).join("\n"));
        expect(tally.unanswered).toEqual([]);
        expect({ statuses: tally.byStatus, upstreamErrors }).toEqual({ statuses: { "200": tally.ok }, upstreamErrors: [] });
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
