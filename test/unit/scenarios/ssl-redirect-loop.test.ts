import { describe, expect, it } from "vitest";
import type { Probe } from "../../../src/scenarios/scenario.js";
import { findRedirectLoop, type Hop } from "../../../src/scenarios/ssl-redirect-loop.js";

const HOSTS = ["app.onrender.com", "127.0.0.1:8443"];
const hop = (path: string, status: number, location?: string): Hop => ({
  probe: { path, status, ms: 3, headers: location ? { location } : {}, body: "" } satisfies Probe,
  location,
});

describe("findRedirectLoop", () => {
  it("finds Django's SECURE_SSL_REDIRECT loop: https:// redirected to the same https:// URL", () => {
    const loop = findRedirectLoop([hop("/", 301, "https://app.onrender.com/")], HOSTS);
    expect(loop?.from.probe.status).toBe(301);
    expect(loop?.to).toBe("https://app.onrender.com/");
  });

  it("finds a loop through several pages back to one already requested", () => {
    const chain = [hop("/a/", 302, "https://app.onrender.com/b/"), hop("/b/", 302, "https://127.0.0.1:8443/a/")];
    expect(findRedirectLoop(chain, HOSTS)?.to).toBe("https://127.0.0.1:8443/a/");
  });

  it("does not call ordinary redirects a loop", () => {
    expect(findRedirectLoop([hop("/", 302, "https://app.onrender.com/login/?next=/"), hop("/login/?next=/", 200)], HOSTS)).toBeUndefined();
    expect(findRedirectLoop([hop("/notes", 301, "https://app.onrender.com/notes/"), hop("/notes/", 200)], HOSTS)).toBeUndefined();
    // The same path on another site, or over plain http, is not the app redirecting to itself.
    expect(findRedirectLoop([hop("/", 301, "https://www.example.com/")], HOSTS)).toBeUndefined();
    expect(findRedirectLoop([hop("/", 301, "http://app.onrender.com/")], HOSTS)).toBeUndefined();
    expect(findRedirectLoop([hop("/", 200)], HOSTS)).toBeUndefined();
  });

  it("treats the query as part of the URL", () => {
    expect(findRedirectLoop([hop("/?a=1", 301, "https://app.onrender.com/?a=2"), hop("/?a=2", 200)], HOSTS)).toBeUndefined();
    expect(findRedirectLoop([hop("/?a=1", 301, "https://app.onrender.com/?a=1")], HOSTS)).toBeDefined();
  });
});
