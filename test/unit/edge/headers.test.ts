import { describe, expect, it } from "vitest";
import { clientAddress, epochMicros, forwardingHeaders, httpsRedirectLocation, newRndrId, responseHeaders, RNDR_ID_PATTERN } from "../../../src/edge/headers.js";

describe("rndr-id", () => {
  it("is 8-4-4 lowercase hex and differs per call", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newRndrId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    expect(RNDR_ID_PATTERN.test("0123abcd-4567-89ef")).toBe(true);
    expect(RNDR_ID_PATTERN.test("0123abcd-4567-89ef-0000")).toBe(false);
  });
});

describe("x-request-start", () => {
  it("is epoch microseconds, 16 digits, truncated", () => {
    expect(epochMicros(1_700_000_000_123.4567)).toBe("1700000000123456");
    expect(epochMicros()).toMatch(/^\d{16}$/);
    const micros = Number(epochMicros());
    expect(Math.abs(micros / 1000 - Date.now())).toBeLessThan(1000);
  });
});

describe("forwardingHeaders", () => {
  const base = { client: "198.51.100.4", publicHost: "shop.onrender.com", rndrId: "0123abcd-4567-89ef", arrivedAtMs: 1_700_000_000_000 };

  it("sets every header Render sets, with Render's names and values", () => {
    expect(forwardingHeaders({ ...base, headers: {} })).toEqual({
      host: "shop.onrender.com",
      "x-forwarded-proto": "https",
      "x-forwarded-for": "198.51.100.4",
      "x-request-start": "1700000000000000",
      "rndr-id": "0123abcd-4567-89ef",
      "render-proxy-ttl": "4",
      "true-client-ip": "198.51.100.4",
      "cf-connecting-ip": "198.51.100.4",
      "cf-visitor": '{"scheme":"https"}',
    });
  });

  it("appends the client to an existing x-forwarded-for and overwrites spoofable headers", () => {
    const headers = forwardingHeaders({
      ...base,
      headers: { "x-forwarded-for": "10.0.0.1, 10.0.0.2", "x-forwarded-proto": "http", "true-client-ip": "1.2.3.4", host: "evil.example" },
    });
    expect(headers["x-forwarded-for"]).toBe("10.0.0.1, 10.0.0.2, 198.51.100.4");
    expect(headers["x-forwarded-proto"]).toBe("https");
    expect(headers["true-client-ip"]).toBe("198.51.100.4");
    expect(headers.host).toBe("shop.onrender.com");
  });
});

describe("responseHeaders", () => {
  it("adds rndr-id and the origin's Server as x-render-origin-server", () => {
    expect(responseHeaders("0123abcd-4567-89ef", "gunicorn")).toEqual({ "rndr-id": "0123abcd-4567-89ef", "x-render-origin-server": "gunicorn" });
    expect(responseHeaders("0123abcd-4567-89ef", undefined)).toEqual({ "rndr-id": "0123abcd-4567-89ef" });
  });
});

describe("clientAddress", () => {
  it("reports IPv4-mapped addresses as plain IPv4", () => {
    expect(clientAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(clientAddress("::1")).toBe("::1");
    expect(clientAddress(undefined)).toBe("127.0.0.1");
  });
});

describe("httpsRedirectLocation", () => {
  it("keeps the host name and path and swaps in the HTTPS port", () => {
    expect(httpsRedirectLocation("shop.onrender.localhost:8080", "/a?b=1", 8443)).toBe("https://shop.onrender.localhost:8443/a?b=1");
    expect(httpsRedirectLocation("127.0.0.1:8080", "/", 443)).toBe("https://127.0.0.1/");
    expect(httpsRedirectLocation("[::1]:8080", "/x", 8443)).toBe("https://[::1]:8443/x");
  });

  it("falls back to 127.0.0.1 for a missing or odd Host and to / for an odd target", () => {
    expect(httpsRedirectLocation(undefined, "/x", 8443)).toBe("https://127.0.0.1:8443/x");
    expect(httpsRedirectLocation("evil.example/\r\nSet-Cookie: a=b", "/x", 8443)).toBe("https://127.0.0.1:8443/x");
    expect(httpsRedirectLocation("shop.onrender.localhost", "http://elsewhere/", 8443)).toBe("https://shop.onrender.localhost:8443/");
  });
});
