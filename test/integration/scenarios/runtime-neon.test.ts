import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coldStart } from "../../../src/scenarios/cold-start.js";
import { mediaEphemeral } from "../../../src/scenarios/media-ephemeral.js";
import { memoryLimit } from "../../../src/scenarios/memory-limit.js";
import { redisTls } from "../../../src/scenarios/redis-tls.js";
import { upstashLimit } from "../../../src/scenarios/upstash-limit.js";
import { workerTimeout } from "../../../src/scenarios/worker-timeout.js";
import { startScenarioStack, type ScenarioStack } from "./runtime-helpers.js";

/**
 * render-neon-upstash-cloudinary as shipped is the fixed shape of every runtime scenario:
 * media on Cloudinary, django-redis over rediss:// with IGNORE_EXCEPTIONS, same-region
 * database, 120 s timeout. Then one stack with the two Redis bugs it has switches for.
 */
describe("runtime scenarios on render-neon-upstash-cloudinary (fixed)", () => {
  let s: ScenarioStack;
  beforeAll(async () => {
    s = await startScenarioStack("render-neon-upstash-cloudinary");
  });
  afterAll(async () => {
    console.log("durations (ms):", JSON.stringify(s?.durations));
    await s?.dispose();
  });

  it("redis-tls passes for django-redis on rediss://", async () => {
    const verdict = await s.run(redisTls, ["/", "/health"]);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence[0]).toMatch(/^REDIS_URL in the app container: rediss:\/\/fun-name-12345\.upstash\.io/);
    expect(verdict.evidence).toContain("CACHES['default'] (django_redis.cache.RedisCache): rediss://fun-name-12345.upstash.io");
  });

  it("upstash-limit passes: IGNORE_EXCEPTIONS keeps the site up; /health reports Redis down", async () => {
    const verdict = await s.run(upstashLimit, ["/", "/health"]);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^GET \/ → 200 in/));
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^GET \/health → 503 in/));
    expect((await s.stack.links.redis.toxics()).map((t) => t.name)).not.toContain("prodlike_check_upstash_limit");
  });

  it("worker-timeout passes: same-region latency, 120 s timeout read from the start command", async () => {
    const verdict = await s.run(workerTimeout, ["/", "/health"]);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence[0]).toBe("gunicorn: timeout 120 s, 2 worker(s) × 4 thread(s), gthread");
    expect(verdict.evidence[1]).toBe("database latency added: 2 ms per round trip (Render frankfurt → database eu-central-1: same region)");
  });

  it("memory-limit passes with the peak under 512 MB", async () => {
    const verdict = await s.run(memoryLimit, ["/", "/health", "/healthz"]);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence[0]).toMatch(/^memory: peak \d+ MB \/ 512 MB limit \(the free plan\)/);
    expect(verdict.evidence).toContain("OOM kills while exercising: 0");
  });

  it("media-ephemeral passes: the file goes to Cloudinary (exists() by HEAD), and is removed again", async () => {
    const verdict = await s.run(mediaEphemeral, ["/"]);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence[0]).toBe("default storage: cloudinary_storage.storage.MediaCloudinaryStorage (not on the local disk)");
    expect(verdict.evidence[1]).toMatch(/^saved media\/prodlike-check\/wake-probe-\w+: exists\(\) → True$/);
    expect(verdict.evidence.at(-1)).toMatch(/^removed media\/prodlike-check\/wake-probe-\w+ again$/);
  });

  it("cold-start passes within the default 30 s client timeout", async () => {
    const verdict = await s.run(coldStart, ["/"]);
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence[0]).toMatch(/^spun down, then GET \/healthz → 200 in \d+(\.\d)? m?s \(client timeout 30\.0 s\)$/);
  });
});

describe("runtime scenarios on render-neon-upstash-cloudinary (Redis bugs)", () => {
  let s: ScenarioStack;
  beforeAll(async () => {
    s = await startScenarioStack("render-neon-upstash-cloudinary", { overrides: { env: { REDIS_DROP_TLS: "true" } } });
  });
  afterAll(() => s?.dispose());

  it("redis-tls fails when the cache URL is rewritten to redis://", async () => {
    const verdict = await s.run(redisTls, ["/", "/health"]);
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("CACHES['default'] (django_redis.cache.RedisCache) connects with redis:// to a TLS-only Redis: every connection is reset");
    expect(verdict.evidence).toContain("CACHES['default'] (django_redis.cache.RedisCache): redis://fun-name-12345.upstash.io");
    expect(verdict.evidence).toContainEqual(expect.stringMatching(/^GET \/health → 503 in/));
    expect(verdict.evidence).toContain("Redis commands that reached Redis through the TLS link: 0");
  });

  it("upstash-limit skips when no Redis command gets through at all, and says so", async () => {
    const verdict = await s.run(upstashLimit, ["/"]);
    expect(verdict.status).toBe("skip");
    expect(verdict.summary).toBe("the app sent no Redis command while answering its endpoints: the request limit cannot hurt them");
    expect(verdict.evidence).toEqual([expect.stringMatching(/^GET \/ → 200 in/)]);
  });
});
