import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostOnlyCookie, localLocation, mapRequestOrigins, mapResponseOrigins, originsOf } from "../../../src/edge/origin-map.js";

const origins = originsOf("127.0.0.1:8443", "shop.onrender.com", 8080)!;

describe("origins of a request", () => {
  it("takes the local origin from the Host the client sent, and the production one from the public host", () => {
    expect(originsOf("Shop.onrender.localhost:8443", "shop.onrender.com", 8080)).toEqual({
      local: "https://shop.onrender.localhost:8443",
      localHttp: "http://shop.onrender.localhost:8080",
      production: "https://shop.onrender.com",
      publicHost: "shop.onrender.com",
    });
    expect(originsOf("127.0.0.1:443", "www.example.com", 80)).toMatchObject({ local: "https://127.0.0.1", localHttp: "http://127.0.0.1" });
    expect(originsOf("[::1]:8443", "a.onrender.com", undefined)).toMatchObject({ local: "https://[::1]:8443", localHttp: undefined });
  });

  it("maps nothing for a Host that is not a plain host[:port]", () => {
    for (const junk of [undefined, "", "a b", "evil.com/x", "host:port", "x\r\ny: z", "a:123456"]) expect(originsOf(junk, "a.onrender.com", 80)).toBeUndefined();
  });
});

describe("on the way in", () => {
  it("gives the app the production origin in Origin and Referer", () => {
    const headers = { origin: "https://127.0.0.1:8443", referer: "https://127.0.0.1:8443/admin/login/?next=/admin/" };
    mapRequestOrigins(headers, origins);
    expect(headers).toEqual({ origin: "https://shop.onrender.com", referer: "https://shop.onrender.com/admin/login/?next=/admin/" });
  });

  it("keeps a foreign origin, an http origin and a look-alike name, so a cross-site request fails as in production", () => {
    for (const foreign of ["https://evil.example", "http://127.0.0.1:8443", "https://127.0.0.1:84431", "https://127.0.0.1:8443.evil.example", "null"]) {
      const headers = { origin: foreign, referer: `${foreign}/page` };
      mapRequestOrigins(headers, origins);
      expect(headers).toEqual({ origin: foreign, referer: `${foreign}/page` });
    }
  });

  it("never rewrites a header that does not start with the local origin (property)", () => {
    fc.assert(
      fc.property(fc.webUrl(), (url) => {
        fc.pre(!url.toLowerCase().startsWith(origins.local));
        const headers = { origin: url, referer: url };
        mapRequestOrigins(headers, origins);
        expect(headers).toEqual({ origin: url, referer: url });
      }),
      { numRuns: 500, seed: 13 },
    );
  });
});

describe("on the way out", () => {
  it("points a redirect to the production name at the front, keeping path, query and fragment", () => {
    expect(localLocation("https://shop.onrender.com/admin/?a=1#top", origins)).toBe("https://127.0.0.1:8443/admin/?a=1#top");
    expect(localLocation("https://SHOP.onrender.com:443", origins)).toBe("https://127.0.0.1:8443");
    expect(localLocation("http://shop.onrender.com/x", origins)).toBe("http://127.0.0.1:8080/x");
  });

  it("keeps relative and foreign redirects", () => {
    for (const kept of ["/admin/", "?next=/", "https://accounts.google.com/o/oauth2", "https://shop.onrender.com.evil.example/", "https://shop.onrender.community/"]) {
      expect(localLocation(kept, origins)).toBe(kept);
    }
  });

  it("makes a cookie for the production name or its parent domain host-only, and keeps any other", () => {
    expect(hostOnlyCookie("sessionid=abc; Domain=shop.onrender.com; Path=/; Secure; HttpOnly", "shop.onrender.com")).toBe("sessionid=abc; Path=/; Secure; HttpOnly");
    expect(hostOnlyCookie("a=b; domain=.example.com; Path=/", "www.example.com")).toBe("a=b; Path=/");
    expect(hostOnlyCookie("a=b; Domain=other.example; Path=/", "www.example.com")).toBe("a=b; Domain=other.example; Path=/");
    expect(hostOnlyCookie("csrftoken=x=y; Path=/", "shop.onrender.com")).toBe("csrftoken=x=y; Path=/");
  });

  it("answers CORS with the local origin only when the browser sent it", () => {
    const fromFront = { location: "https://shop.onrender.com/next", "set-cookie": ["s=1; Domain=shop.onrender.com"], "access-control-allow-origin": "https://shop.onrender.com" };
    mapResponseOrigins(fromFront, origins, "https://127.0.0.1:8443");
    expect(fromFront).toEqual({ location: "https://127.0.0.1:8443/next", "set-cookie": ["s=1"], "access-control-allow-origin": "https://127.0.0.1:8443" });
    const fromElsewhere = { "access-control-allow-origin": "https://shop.onrender.com" };
    mapResponseOrigins(fromElsewhere, origins, "https://evil.example");
    expect(fromElsewhere).toEqual({ "access-control-allow-origin": "https://shop.onrender.com" });
  });
});
