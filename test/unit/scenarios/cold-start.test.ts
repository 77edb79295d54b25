import { describe, expect, it } from "vitest";
import type { StackDescription } from "../../../src/config/types.js";
import { PLAN_LIMITS } from "../../../src/config/types.js";
import { coldStartApplies, coldStartVerdict } from "../../../src/scenarios/cold-start.js";
import type { Probe } from "../../../src/scenarios/scenario.js";

const probe = (over: Partial<Probe>): Probe => ({ path: "/healthz", status: 200, ms: 6200, headers: {}, body: "", ...over });

describe("coldStartVerdict", () => {
  it("passes when the wake answers within the client timeout", () => {
    const verdict = coldStartVerdict({ probe: probe({}), clientTimeoutMs: 30_000, coldStartDelayMs: 0, readyAfterMs: 6200, bootLines: [] });
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence).toEqual(["spun down, then GET /healthz → 200 in 6.2 s (client timeout 30.0 s)"]);
  });

  it("fails when the client gave up, with when the instance was ready and what the boot did", () => {
    const verdict = coldStartVerdict({
      probe: probe({ status: 0, ms: 2003, error: "no answer within 2000 ms" }),
      clientTimeoutMs: 2000,
      coldStartDelayMs: 1500,
      readyAfterMs: 5400,
      bootLines: ["No migrations to apply."],
    });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("the first request after a spin-down got no answer within the 2.0 s client timeout");
    expect(verdict.evidence).toEqual([
      "spun down, then GET /healthz → no answer (no answer within 2000 ms) after 2.0 s (client timeout 2.0 s)",
      "the instance was ready 5.4 s after the request",
      "the wake includes prodlike.yaml coldStartDelay 1.5 s on top of the container's boot",
      "the boot ran: No migrations to apply.",
    ]);
    expect(verdict.fix).toMatch(/14 minutes/);
  });

  it("fails on Render's wake error", () => {
    const verdict = coldStartVerdict({
      probe: probe({ status: 503, headers: { "x-render-routing": "hibernate-wake-error" } }),
      clientTimeoutMs: 30_000,
      coldStartDelayMs: 0,
      readyAfterMs: null,
      bootLines: [],
    });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toContain("hibernate-wake-error");
  });

  it("applies only to plans that spin down", () => {
    const of = (plan: "free" | "starter") => ({ app: { plan, limits: PLAN_LIMITS[plan] } }) as unknown as StackDescription;
    expect(coldStartApplies(of("free"))).toBe(true);
    expect(coldStartApplies(of("starter"))).toBe("the starter plan never spins down (only free web services sleep after 15 idle minutes)");
  });
});
