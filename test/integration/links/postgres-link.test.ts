import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { PostgresLink } from "../../../src/links/postgres/postgres-link.js";
import { fakePostgres } from "./fake-postgres.js";
import { useTempCa } from "../../helpers/ca.js";
import { cleanup, disposers } from "./helpers.js";
import { pgClient } from "./pg-client.js";

const temp = useTempCa();
afterEach(cleanup);

async function setup(options: { toxics?: unknown[]; requireTls?: boolean } = {}) {
  const backend = await fakePostgres();
  const clock = new VirtualClock();
  const link = await new PostgresLink({
    name: "db",
    upstream: { host: "127.0.0.1", port: backend.port },
    clock,
    tls: { ca: temp.ca, names: ["localhost", "127.0.0.1"] },
    toxics: options.toxics,
    requireTls: options.requireTls,
  }).start();
  disposers.push(() => link.stop());
  return { backend, clock, link };
}

const ready = (c: { count(t: string): number }, n = 1) => expect.poll(() => c.count("Z")).toBe(n);

describe("PostgresLink", { timeout: 20_000 }, () => {
  it("answers SSLRequest, ends TLS with the CA's certificate and forwards the startup in plaintext", async () => {
    const { backend, link } = await setup();
    const c = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(c);
    expect(c.count("R")).toBe(1);
    expect(backend.seen.startups).toEqual([{ user: "postgres.abcdef", database: "postgres" }]);
    expect(backend.seen.sslRequests).toBe(0);
    c.query("select 1");
    await ready(c, 2);
    expect(backend.seen.queries).toEqual(["select 1"]);
    expect(link.connections()).toHaveLength(1);
  });

  it("refuses a client without TLS with FATAL 08P01 'SSL required'", async () => {
    const { backend, link } = await setup();
    const c = await pgClient(link.port, { ssl: false });
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.errors()).toEqual([expect.objectContaining({ S: "FATAL", C: "08P01", M: "SSL required" })]);
    expect(backend.seen.startups).toHaveLength(0);
  });

  it("accepts plaintext startup when TLS is not required, and answers GSSENCRequest with N", async () => {
    const { link } = await setup({ requireTls: false });
    const raw = net.connect(link.port, "127.0.0.1");
    disposers.push(() => void raw.destroy());
    const gss = Buffer.alloc(8);
    gss.writeInt32BE(8);
    gss.writeInt32BE(80877104, 4);
    raw.write(gss);
    const answer = await new Promise<string>((resolve) => raw.once("data", (d) => resolve(d.toString())));
    expect(answer).toBe("N");
    raw.destroy();
    const c = await pgClient(link.port, { ssl: false });
    await ready(c);
  });

  it("forwards a CancelRequest to the upstream", async () => {
    const { backend, link } = await setup({ requireTls: false });
    const raw = net.connect(link.port, "127.0.0.1");
    raw.on("error", () => {});
    disposers.push(() => void raw.destroy());
    const cancel = Buffer.alloc(16);
    cancel.writeInt32BE(16);
    cancel.writeInt32BE(80877102, 4);
    cancel.writeInt32BE(4242, 8);
    cancel.writeInt32BE(7, 12);
    raw.write(cancel);
    await expect.poll(() => backend.seen.cancels).toBe(1);
  });

  it("closes a garbage connection alone and keeps serving", async () => {
    const { link } = await setup();
    const bad = net.connect(link.port, "127.0.0.1");
    bad.on("error", () => {});
    const closed = new Promise((resolve) => bad.on("close", resolve));
    bad.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await closed;
    const c = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(c);
  });

  it("idle drop, silent (Supavisor): closes the connection after 16 virtual minutes, not before", async () => {
    const { clock, link } = await setup({ toxics: [{ type: "idle_drop", attributes: { timeout: "15m" } }] });
    const c = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(c);
    await clock.advance(14 * 60_000);
    c.query("select 1");
    await ready(c, 2);
    await clock.advance(14 * 60_000); // 28 min since open, 14 since the last query
    expect(c.state.closed).toBe(false);
    await clock.advance(2 * 60_000);
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.errors()).toEqual([]);
    await expect.poll(() => link.connections()).toEqual([]);
  });

  it("idle drop, fatal (PgBouncer client_idle_timeout): FATAL 08P01 then close", async () => {
    const { clock, link } = await setup({ toxics: [{ type: "idle_drop", attributes: { timeout: "10m", mode: "fatal" } }] });
    const c = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(c);
    await clock.advance(16 * 60_000);
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.errors()).toEqual([expect.objectContaining({ S: "FATAL", C: "08P01", M: "client_idle_timeout" })]);
  });

  it("max client connections: the one beyond the limit gets Supavisor's text", async () => {
    const { link } = await setup({ toxics: [{ type: "max_connections", attributes: { limit: 1 } }] });
    const first = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(first);
    const second = await pgClient(link.port, { ca: temp.ca.certPem });
    await expect.poll(() => second.state.closed).toBe(true);
    expect(second.errors()).toEqual([
      expect.objectContaining({ S: "FATAL", M: "max client connections reached, limit: 1" }),
    ]);
    first.query("select 1");
    await ready(first, 2);
  });

  it("neon suspend: idle connections get FATAL 57P01; a new one waits the wake latency", async () => {
    const { clock, link } = await setup({
      toxics: [{ type: "neon_suspend", attributes: { after: "5m", wake_latency: 200 } }],
    });
    const c = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(c);
    await clock.advance(4 * 60_000);
    c.query("select 1");
    await ready(c, 2);
    await clock.advance(4 * 60_000);
    expect(c.state.closed).toBe(false);
    await clock.advance(60_000 + 1);
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.errors()).toEqual([
      expect.objectContaining({ S: "FATAL", C: "57P01", M: "terminating connection due to administrator command" }),
    ]);
    expect(link.suspended).toBe(true);
    const started = performance.now();
    const next = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(next);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(link.suspended).toBe(false);
  });

  it("applies stream toxics to the plaintext after TLS: latency on queries", async () => {
    const { link } = await setup();
    const c = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(c);
    link.addToxic({ type: "latency", attributes: { latency: 120 } });
    const started = performance.now();
    c.query("select 1");
    await ready(c, 2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });
});

describe("PostgresLink without its upstream", { timeout: 20_000 }, () => {
  it("tells the client in a FATAL ErrorResponse instead of a bare close", async () => {
    const { link, backend } = await setup();
    link.setUpstream({ host: "127.0.0.1", port: 1 });
    const c = await pgClient(link.port, { ca: temp.ca.certPem });
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.errors()).toEqual([expect.objectContaining({ S: "FATAL", C: "08006", M: expect.stringContaining("cannot reach 127.0.0.1:1") })]);
    link.setUpstream({ host: "127.0.0.1", port: backend.port });
    const again = await pgClient(link.port, { ca: temp.ca.certPem });
    await ready(again);
  });
});
