import { describe, expect, it } from "vitest";
import { resolveStack } from "../../../src/config/resolve.js";
import { discoverEndpoints, extractLinks, isAssetPath, MAX_CRAWLED } from "../../../src/scenarios/endpoints.js";
import type { Probe } from "../../../src/scenarios/scenario.js";
import { REPO } from "../../helpers/cli.js";
import { join } from "node:path";

const PAGE = `<!doctype html><html><head>
  <link rel="stylesheet" href="/static/css/site.3f2a.css">
  <link rel="icon" href='/static/favicon.ico'>
  <link rel="canonical" href="https://blog.onrender.com/about/">
  <script src="/static/js/app.js" defer></script>
  <script src="https://cdn.example.com/lib.js"></script>
</head><body>
  <a href="/notes/">Notes</a>
  <a href="notes/2/?page=2&amp;sort=new">Second</a>
  <a href="https://blog.onrender.com/contact/">Contact</a>
  <a href="//evil.example.com/steal">Other site</a>
  <a href="https://example.com/">External</a>
  <a href="#top">Top</a>
  <a href="mailto:me@example.com">Mail</a>
  <a href="javascript:void(0)">JS</a>
  <a href=/unquoted/>Unquoted</a>
  <A HREF="/Upper/">Upper</A>
  <a href="/media/report.pdf">A report</a>
  <img src="/static/img/logo.png" alt="">
  <img src="data:image/png;base64,AAAA">
</body></html>`;

describe("extractLinks", () => {
  it("keeps same-site pages and assets, drops everything outside the stack", () => {
    const links = extractLinks(PAGE, "https://127.0.0.1:8443/", ["blog.onrender.com"]);
    expect(links.pages).toEqual(["/about/", "/notes/", "/notes/2/?page=2&sort=new", "/contact/", "/unquoted/", "/Upper/"]);
    expect(links.assets).toEqual(["/static/css/site.3f2a.css", "/static/favicon.ico", "/static/js/app.js", "/media/report.pdf", "/static/img/logo.png"]);
    const all = [...links.pages, ...links.assets].join(" ");
    expect(all).not.toMatch(/example\.com|evil|mailto|javascript|data:|#top/);
  });

  it("resolves relative links against the page they are on", () => {
    expect(extractLinks('<a href="../up/">x</a><a href="next/">y</a>', "https://h/a/b/").pages).toEqual(["/a/up/", "/a/b/next/"]);
  });

  it("tells assets from pages by prefix and extension", () => {
    expect(isAssetPath("/static/x")).toBe(true);
    expect(isAssetPath("/download/app.js?v=2")).toBe(true);
    expect(isAssetPath("/notes/")).toBe(false);
  });
});

describe("discoverEndpoints", () => {
  const probe = (path: string, status: number, body = "", headers: Record<string, string> = {}): Probe => ({ path, status, ms: 1, headers, body });

  it("lists /, the health path, prodlike.yaml paths and the crawled pages, without assets, bounded", async () => {
    const description = await resolveStack(join(REPO, "fixtures", "render-blueprint"));
    const withPaths = { ...description, check: { ...description.check, paths: ["/api/items/"] } };
    const many = Array.from({ length: 40 }, (_, i) => `<a href="/p${i}/">p</a>`).join("");
    const requested: string[] = [];
    const found = await discoverEndpoints(
      async (path) => {
        requested.push(path);
        return probe(path, 200, PAGE + many, { "content-type": "text/html; charset=utf-8" });
      },
      withPaths,
      "https://127.0.0.1:8443",
    );
    expect(requested).toEqual(["/"]);
    expect(found.paths.slice(0, 5)).toEqual(["/", "/healthz/", "/api/items/", "/notes/", "/notes/2/?page=2&sort=new"]);
    // blog.onrender.com is not this app's public host (blueprint-demo.onrender.com): another site.
    expect(found.paths).not.toContain("/about/");
    expect(found.paths).not.toContain("/contact/");
    expect(found.paths.filter((p) => /^\/p\d+\/$/.test(p)).length).toBeLessThan(MAX_CRAWLED);
    expect(found.paths.length).toBe(3 + MAX_CRAWLED);
    expect(found.paths.some(isAssetPath)).toBe(false);
    expect(found.assets).toContain("/static/css/site.3f2a.css");
  });

  it("follows one same-site redirect of the front page (a login page) and never another site", async () => {
    const description = await resolveStack(join(REPO, "fixtures", "render-supabase"));
    const requested: string[] = [];
    const answers: Record<string, Probe> = {
      "/": probe("/", 302, "", { location: "https://render-supabase.onrender.com/accounts/login/?next=/" }),
      "/accounts/login/?next=/": probe("/accounts/login/?next=/", 200, '<a href="/signup/">s</a>', { "content-type": "text/html" }),
    };
    const found = await discoverEndpoints(async (path) => (requested.push(path), answers[path]!), description, "https://127.0.0.1:9")
    expect(requested).toEqual(["/", "/accounts/login/?next=/"]);
    expect(found.paths).toEqual(["/", "/accounts/login/?next=/", "/signup/"]);

    const external: string[] = [];
    await discoverEndpoints(async (path) => (external.push(path), probe(path, 302, "", { location: "https://accounts.example.com/" })), description, "https://127.0.0.1:9");
    expect(external).toEqual(["/"]);
  });
});
