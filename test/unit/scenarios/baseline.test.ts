import { describe, expect, it } from "vitest";
import { baselineVerdict, bodyExcerpt, isHealthy, redirectsToItself } from "../../../src/scenarios/baseline.js";
import type { Probe } from "../../../src/scenarios/scenario.js";

const HOST = "shop.onrender.com";
const probe = (path: string, status: number, extra: Partial<Probe> = {}): Probe => ({ path, status, ms: 12, headers: {}, body: "", ...extra });
/** Django 5.2's answer to a DisallowedHost with DEBUG=False. */
const DJANGO_400 = '<!doctype html>\n<html lang="en">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n';

describe("isHealthy", () => {
  it("takes 2xx and a 3xx elsewhere, not a 4xx, a 5xx, no answer or a redirect to itself", () => {
    expect(isHealthy(probe("/", 200), [HOST])).toBe(true);
    expect(isHealthy(probe("/", 302, { headers: { location: "/accounts/login/?next=/" } }), [HOST])).toBe(true);
    expect(isHealthy(probe("/", 400), [HOST])).toBe(false);
    expect(isHealthy(probe("/", 404), [HOST])).toBe(false);
    expect(isHealthy(probe("/", 500), [HOST])).toBe(false);
    expect(isHealthy(probe("/", 0, { error: "ECONNRESET" }), [HOST])).toBe(false);
    const loop = probe("/notes/", 301, { headers: { location: `https://${HOST}/notes/` } });
    expect(redirectsToItself(loop, [HOST])).toBe(true);
    expect(isHealthy(loop, [HOST])).toBe(false);
    // http → https on another host, or to another page, is an answer.
    expect(isHealthy(probe("/notes/", 301, { headers: { location: "https://example.com/notes/" } }), [HOST])).toBe(true);
  });
});

describe("bodyExcerpt", () => {
  it("quotes an HTML page's title and heading once, and clips long text", () => {
    expect(bodyExcerpt(DJANGO_400)).toBe("Bad Request (400)");
    expect(bodyExcerpt("<html><title>DisallowedHost at /</title><h1>DisallowedHost at /</h1><pre>Invalid HTTP_HOST header: 'x'</pre></html>")).toBe("DisallowedHost at /");
    expect(bodyExcerpt("x".repeat(500))).toHaveLength(160);
    expect(bodyExcerpt('{"error": "down"}')).toBe('{"error": "down"}');
  });
});

describe("baselineVerdict", () => {
  it("a 400 everywhere and ALLOWED_HOSTS without the public host: DisallowedHost, with the answers, the setting and the fix", () => {
    const verdict = baselineVerdict({
      publicHost: HOST,
      probes: [probe("/", 400, { body: DJANGO_400 }), probe("/about/", 400, { body: DJANGO_400 })],
      logLines: [],
      hostCheck: { ok: true, value: { allowedHosts: ["tontine.up.railway.app"], debug: false, accepted: false } },
    });
    expect(verdict.status).toBe("baseline-failed");
    expect(verdict.summary).toBe(
      `baseline failed: before any fault, every endpoint answered 400: Django's DisallowedHost: Host: ${HOST} is not in ALLOWED_HOSTS; nothing was tested`,
    );
    expect(verdict.evidence).toEqual([
      `baseline (before the fault, as Render's router sends requests: Host: ${HOST}, https):`,
      'GET / → 400 in 12 ms: "Bad Request (400)"',
      'GET /about/ → 400 in 12 ms: "Bad Request (400)"',
      `the app's settings: ALLOWED_HOSTS = ["tontine.up.railway.app"], DEBUG = False; Host: ${HOST} is not allowed`,
      "Django rejects such a request with DisallowedHost and logs nothing about it with DEBUG=False and its default logging",
    ]);
    expect(verdict.fix).toContain('ALLOWED_HOSTS.append(os.environ["RENDER_EXTERNAL_HOSTNAME"])');
  });

  it("a 400 with Django's log line quotes the line", () => {
    const line = "Invalid HTTP_HOST header: 'shop.onrender.com'. You may need to add 'shop.onrender.com' to ALLOWED_HOSTS.";
    const verdict = baselineVerdict({ publicHost: HOST, probes: [probe("/", 400)], logLines: ["noise", line] });
    expect(verdict.summary).toMatch(/^baseline failed: before any fault, GET \/ answered 400: Django's DisallowedHost/);
    expect(verdict.evidence).toContain(`app: ${line}`);
  });

  it("a 400 the host does not explain says so and does not blame ALLOWED_HOSTS", () => {
    const verdict = baselineVerdict({
      publicHost: HOST,
      probes: [probe("/", 400)],
      logLines: [],
      hostCheck: { ok: true, value: { allowedHosts: [HOST], debug: false, accepted: true } },
    });
    expect(verdict.summary).toMatch(/answered 400: 400 Bad Request; nothing was tested$/);
    expect(verdict.fix).not.toContain("RENDER_EXTERNAL_HOSTNAME");
  });

  it("a redirect to itself, a 500 with the app's error, a 404 and no answer each get their own reason and fix", () => {
    const loop = baselineVerdict({ publicHost: HOST, probes: [probe("/", 301, { headers: { location: `https://${HOST}/` } })], logLines: [] });
    expect(loop.summary).toContain("a redirect loop: GET / redirects to itself");
    expect(loop.fix).toContain("SECURE_PROXY_SSL_HEADER");

    const error = "django.core.exceptions.ImproperlyConfigured: settings.DATABASES is improperly configured.";
    const crash = baselineVerdict({ publicHost: HOST, probes: [probe("/", 500)], logLines: ["Traceback (most recent call last):", error] });
    expect(crash.summary).toContain("the app fails: django.core.exceptions.ImproperlyConfigured: settings.DATABASES is improperly configured.");

    const missing = baselineVerdict({ publicHost: HOST, probes: [probe("/", 404)], logLines: [] });
    expect(missing.summary).toContain("no endpoint the check found is public (404)");
    expect(missing.fix).toContain("check.paths");

    const silent = baselineVerdict({ publicHost: HOST, probes: [probe("/", 0, { error: "ECONNREFUSED" })], logLines: [] });
    expect(silent.summary).toContain("answered nothing: no endpoint answered (ECONNREFUSED)");
    expect(silent.evidence).toContain("GET / → no answer (ECONNREFUSED) after 12 ms");
  });
});
