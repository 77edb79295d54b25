import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFixture, fetchApp, leftovers, parseUp, runCli } from "../../helpers/cli.js";

/**
 * The spine end to end: the CLI on a copy of fixtures/render-supabase against the real engine.
 * up -d → health through the front → status → data written → down → up → data still there.
 */
describe("prodlike up/down on render-supabase", () => {
  let fixture: Awaited<ReturnType<typeof copyFixture>>;
  let url: string;

  beforeAll(async () => {
    fixture = await copyFixture("render-supabase");
    const result = await runCli(["up", "-d", fixture.dir, "--port", "0", "--http-port", "0"]);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    url = parseUp(result.stdout).url;
  });

  afterAll(async () => {
    if (!fixture) return;
    await runCli(["down", fixture.dir, "--volumes"]);
    expect(await leftovers(fixture.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    await fixture.dispose();
  });

  it("serves /auth/health/ through the front with the database answering", async () => {
    const response = await fetchApp(`${url}/auth/health/`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(200);
    expect(body.database).toBe("ok");
    expect(String(body.server_version)).toMatch(/^15\./);
  });

  it("lists app, platform, postgres, pgbouncer, redis and minio as running", async () => {
    const result = await runCli(["status", fixture.dir, "-o", "json"]);
    expect(result.code, result.stderr).toBe(0);
    const status = JSON.parse(result.stdout) as { status: string; services: { name: string; state: string }[] };
    expect(status.status).toBe("running");
    const states = Object.fromEntries(status.services.map((s) => [s.name, s.state]));
    expect(states).toEqual({ app: "running", minio: "running", pgbouncer: "running", platform: "running", postgres: "running", redis: "running" });
  });

  it("redirects plain HTTP to HTTPS", async () => {
    const status = JSON.parse((await runCli(["status", fixture.dir, "-o", "json"])).stdout) as { urls: { http: string } };
    const response = await fetchApp(`${status.urls.http}/auth/health/`);
    expect(response.status).toBe(301);
    expect(response.headers.get("location")).toBe(`${url}/auth/health/`);
  });

  it("prints host-side URLs with `env`, one value with a key", async () => {
    const all = await runCli(["env", fixture.dir]);
    // Host-side clients reach the links through the ports the platform publishes on 127.0.0.1.
    expect(all.stdout).toMatch(/^DATABASE_URL=postgresql:\/\/.+@127\.0\.0\.1:\d+\/.+\?sslmode=require$/m);
    const one = await runCli(["env", fixture.dir, "REDIS_URL"]);
    expect(one.stdout.trim()).toMatch(/^redis:\/\/default:.+@127\.0\.0\.1:\d+\/0$/);
  });

  it("runs a command in the app container with exec", async () => {
    const result = await runCli(["exec", fixture.dir, "app", "--", "python", "-c", "import os; print(os.environ['RENDER'], os.environ['PORT'], os.environ['DEBUG'])"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("true 10000 False");
  });

  it("keeps data across down and up (volume kept), and down leaves nothing else", async () => {
    const created = await fetchApp(`${url}/notes/`, { method: "POST", body: new URLSearchParams({ text: "kept across down" }) });
    expect(created.status).toBe(201);

    const down = await runCli(["down", fixture.dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(await leftovers(fixture.project)).toEqual({ containers: 0, networks: 0, volumes: 2 });

    const again = await runCli(["up", "-d", fixture.dir, "--port", "0", "--http-port", "0"]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    url = parseUp(again.stdout).url;
    const notes = (await (await fetchApp(`${url}/notes/`)).json()) as { notes: { text: string }[] };
    expect(notes.notes.map((n) => n.text)).toContain("kept across down");
  });
});
