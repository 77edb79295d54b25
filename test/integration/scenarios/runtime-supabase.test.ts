import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coldStart } from "../../../src/scenarios/cold-start.js";
import { mediaEphemeral } from "../../../src/scenarios/media-ephemeral.js";
import { memoryLimit } from "../../../src/scenarios/memory-limit.js";
import { redisTls } from "../../../src/scenarios/redis-tls.js";
import { upstashLimit } from "../../../src/scenarios/upstash-limit.js";
import { workerTimeout } from "../../../src/scenarios/worker-timeout.js";
import { startScenarioStack, type ScenarioStack } from "./runtime-helpers.js";

/**
 * The runtime scenarios against render-supabase in its buggy shape, one stack: media on the
 * local disk, migrate on every boot and a 2 s client timeout, an N+1 endpoint under a 5 s
 * gunicorn timeout, 600 MB in a 512 MB plan, Django's RedisCache (no IGNORE_EXCEPTIONS) on
 * Upstash. Redis over TLS is done right here, so that one passes.
 */
describe("runtime scenarios on render-supabase (buggy)", () => {
  let s: ScenarioStack;
  beforeAll(async () => {
    s = await startScenarioStack("render-supabase", {
      overrides: { redis: "upstash", env: { GUNICORN_TIMEOUT: "5" } },
      files: { "prodlike.yaml": "check:\n  clientTimeout: 2s\n" },
    });
  });
  afterAll(async () => {
    console.log("durations (ms):", JSON.stringify(s?.durations));
    await s?.dispose();
  });

  it("redis-tls passes: the cache speaks rediss:// and its commands reach Redis", async () => {
    const verdict = await s.run(redisTls, ["/cache/"]);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence[0]).toMatch(/^REDIS_URL in the app container: rediss:\/\/render-supabase-[0-9a-z]+\.upstash\.io \(Upstash accepts TLS only\)$/);
    expect(verdict.evidence.join("\n")).toMatch(/CACHES\['default'\] \(django\.core\.cache\.backends\.redis\.RedisCache\): rediss:\/\//);
    expect(verdict.evidence.join("\n")).toMatch(/through the TLS link: [1-9]/);
  });

  it("upstash-limit fails: Django's RedisCache turns the limit into a 500, with redis-py's error line", async () => {
    const verdict = await s.run(upstashLimit, ["/cache/"]);
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^GET \/cache\/ → 500 in/));
    expect(verdict.evidence.join("\n")).toMatch(/max requests limit exceeded\. Limit: 500000, Usage: 500000/);
    expect(await s.stack.links.redis.toxics()).toEqual([]);
    // The limit is gone again: the cache works.
    expect((await s.stack.fetch("/cache/")).status).toBe(200);
  });

  it("worker-timeout fails: 60 queries at 150 ms outlast a 5 s timeout, WORKER TIMEOUT in the log", async () => {
    const verdict = await s.run(workerTimeout, ["/auth/health/", "/report/?queries=60"]);
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toContain("GET /report/?queries=60 outlasted gunicorn's 5 s worker timeout");
    expect(verdict.evidence[0]).toMatch(/^gunicorn: timeout 5 s, 1 worker\(s\) × 1 thread\(s\), sync/);
    expect(verdict.evidence).toContain("database latency added: 150 ms per round trip (Render oregon → database eu-central-1: US ↔ Europe)");
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/\[CRITICAL\] WORKER TIMEOUT \(pid:\d+\)/));
    // gunicorn answers the aborted request itself (a 500), after about the timeout.
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^GET \/report\/\?queries=60 → 5\d\d in [5-9]\.\d s$/));
    expect((await s.stack.links.db.toxics()).map((t) => t.name)).not.toContain("prodlike_check_db_latency");
  });

  it("memory-limit fails: 600 MB in a 512 MB plan is an OOM kill, with gunicorn's line or Docker's event", async () => {
    const verdict = await s.run(memoryLimit, ["/alloc/?mb=64", "/alloc/?mb=600"]);
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("the plan's 512 MB was exceeded: the kernel killed a process of the app");
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^OOM kills while exercising: 1( \(|$)/));
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^memory: peak \d+ MB \/ 512 MB limit \(the free plan\)/));
    // gunicorn's line, or (when its arbiter printed none) Docker's oom event.
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/Perhaps out of memory\?|^Docker reported the kernel's OOM kill/));
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^GET \/alloc\/\?mb=600 → 502/));
  });

  it("media-ephemeral fails: a file saved on the local disk is gone after a wake", async () => {
    const verdict = await s.run(mediaEphemeral, ["/"]);
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence[0]).toMatch(/^default storage: django\.core\.files\.storage\.filesystem\.FileSystemStorage, MEDIA_ROOT \/opt\/render\/project\/src\/media/);
    expect(verdict.evidence[1]).toMatch(/^saved prodlike-check\/wake-probe-\w+\.png: exists\(\) → True$/);
    expect(verdict.evidence[2]).toMatch(/fresh container .*: exists\(\) → False$/);
  });

  it("cold-start fails: the wake (boot with migrate) takes longer than a 2 s client", async () => {
    const verdict = await s.run(coldStart, ["/"]);
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("the first request after a spin-down got no answer within the 2.0 s client timeout");
    expect(verdict.evidence[0]).toMatch(/^spun down, then GET \/ → no answer \(no answer within 2000 ms\) after 2\.\d s \(client timeout 2\.0 s\)$/);
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^the instance was ready \d+\.\d s after the request$/));
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^the boot ran: .*(No migrations to apply|Operations to perform)/));
    // The stack serves again for whatever runs next.
    expect((await s.stack.fetch("/")).status).toBe(200);
  });
});
