import { afterEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { createControlServer } from "../../../src/links/control-server.js";
import { Link } from "../../../src/links/link.js";
import { LinkSet } from "../../../src/links/link-set.js";
import { cleanup, client, disposers, echoServer } from "./helpers.js";

afterEach(cleanup);

async function setup(toxics?: unknown[]) {
  const echo = await echoServer();
  const clock = new VirtualClock();
  const link = await new Link({ name: "db", upstream: { host: "127.0.0.1", port: echo.port }, clock, toxics }).start();
  const links = new LinkSet([link]);
  disposers.push(() => links.stop());
  const control = await createControlServer({ links, clock, token: "s3cret" });
  disposers.push(() => control.stop());
  const call = async (method: string, path: string, body?: unknown, token = "s3cret") => {
    const res = await fetch(control.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return { link, links, clock, control, call };
}

describe("control API", { timeout: 15_000 }, () => {
  it("listens on 127.0.0.1 and refuses requests without the token", async () => {
    const { control, call } = await setup();
    expect(control.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await call("GET", "/links", undefined, "wrong");
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("UNAUTHORIZED");
  });

  it("adds, lists and removes toxics, with the effect on a live connection", async () => {
    const { link, call } = await setup();
    const c = client(link.port);
    c.socket.write("a");
    await expect.poll(() => c.text()).toBe("a");

    const added = await call("POST", "/links/db/toxics", { type: "latency", name: "slow", attributes: { latency: 150 } });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ name: "slow", type: "latency", stream: "downstream", attributes: { latency: 150 } });
    const started = performance.now();
    c.socket.write("b");
    await expect.poll(() => c.text()).toBe("ab");
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);

    const listed = await call("GET", "/links");
    expect(listed.json.links).toEqual([
      expect.objectContaining({ name: "db", kind: "tcp", toxics: [expect.objectContaining({ name: "slow" })], connections: [expect.objectContaining({ bytesUp: 2 })] }),
    ]);

    const dup = await call("POST", "/links/db/toxics", { type: "latency", name: "slow" });
    expect(dup.status).toBe(409);
    expect(dup.json.error.message).toMatch(/already has a toxic named "slow"/);

    expect((await call("DELETE", "/links/db/toxics/slow")).status).toBe(204);
    expect((await call("DELETE", "/links/db/toxics/slow")).status).toBe(404);
    expect(link.toxics()).toEqual([]);
  });

  it("explains invalid toxics, unknown links and bad JSON as JSON errors", async () => {
    const { call, control } = await setup();
    const bad = await call("POST", "/links/db/toxics", { type: "latency", attributes: { latency: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toEqual({ code: "TOXIC_INVALID", message: expect.stringMatching(/attribute "latency" must be a number of ms from 0 to 3600000/) });
    const unknown = await call("POST", "/links/cache/reset");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toBe('no link named "cache": this stack has db');
    const res = await fetch(`${control.url}/links/db/toxics`, { method: "POST", headers: { authorization: "Bearer s3cret" }, body: "{nope" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("BAD_JSON");
  });

  it("resets a link and advances the clock", async () => {
    const { link, clock, call } = await setup();
    link.addToxic({ type: "latency" });
    link.addToxic({ type: "bandwidth", attributes: { rate: 10 } });
    expect((await call("POST", "/links/db/reset")).status).toBe(204);
    expect(link.toxics()).toEqual([]);
    const before = clock.now();
    const advanced = await call("POST", "/clock/advance", { duration: "16m" });
    expect(advanced.status).toBe(200);
    expect(advanced.json.advancedMs).toBe(960_000);
    expect(clock.now() - before).toBeGreaterThanOrEqual(960_000);
    expect((await call("POST", "/clock/advance", { ms: 1000 })).json.advancedMs).toBe(1000);
    expect((await call("POST", "/clock/advance", { duration: "soon" })).status).toBe(400);
  });

  it("resets to the profile: added toxics go, the production ones stay", async () => {
    const { link, call } = await setup([{ type: "timeout", name: "pooler_idle", attributes: { timeout: 600_000 } }]);
    link.addToxic({ type: "latency", name: "slow" });
    await link.removeToxic("pooler_idle");
    expect(link.toxics().map((t) => t.name)).toEqual(["slow"]);
    expect((await call("POST", "/reset")).status).toBe(204);
    expect(link.toxics().map((t) => [t.name, t.type, t.attributes.timeout])).toEqual([["pooler_idle", "timeout", 600_000]]);
  });
});
