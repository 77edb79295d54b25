import { describe, expect, it } from "vitest";
import { redisTlsVerdict, type RedisUse } from "../../../src/scenarios/redis-tls.js";

const tlsCache: RedisUse = {
  envScheme: "rediss",
  envHost: "fun-name-12345.upstash.io",
  clients: [{ setting: "CACHES['default'] (django_redis.cache.RedisCache)", scheme: "rediss", host: "fun-name-12345.upstash.io" }],
};

describe("redisTlsVerdict", () => {
  it("passes for a rediss:// cache whose commands went through", () => {
    const verdict = redisTlsVerdict({ use: tlsCache, probes: [], commands: 4, errorLines: [] })!;
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence).toEqual([
      "REDIS_URL in the app container: rediss://fun-name-12345.upstash.io (Upstash accepts TLS only)",
      "CACHES['default'] (django_redis.cache.RedisCache): rediss://fun-name-12345.upstash.io",
      "Redis commands that reached Redis through the TLS link: 4",
    ]);
  });

  it("fails for a client that dropped TLS, naming the setting", () => {
    const dropped = { ...tlsCache, clients: [{ ...tlsCache.clients[0]!, scheme: "redis" }] };
    const verdict = redisTlsVerdict({ use: dropped, probes: [{ path: "/health", status: 503, ms: 10, headers: {}, body: "" }], commands: 0, errorLines: [] })!;
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("CACHES['default'] (django_redis.cache.RedisCache) connects with redis:// to a TLS-only Redis: every connection is reset");
    expect(verdict.evidence).toContain("GET /health → 503 in 10 ms");
  });

  it("fails on connection errors in the app's log even with rediss://", () => {
    const line = "redis.exceptions.ConnectionError: Connection closed by server.";
    const verdict = redisTlsVerdict({ use: tlsCache, probes: [], commands: 1, errorLines: [line] })!;
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence.at(-1)).toBe(line);
  });

  it("has nothing to say about an app that does not use Redis", () => {
    expect(redisTlsVerdict({ use: { envScheme: null, envHost: null, clients: [] }, probes: [], commands: 0, errorLines: [] })).toBeUndefined();
    expect(redisTlsVerdict({ use: { ...tlsCache, clients: [] }, probes: [], commands: 0, errorLines: [] })).toBeUndefined();
  });
});
