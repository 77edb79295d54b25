import { spawn } from "node:child_process";
import { connect as tlsConnect } from "node:tls";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFixture, fetchApp, runCli, upFixture, type FixtureStack } from "../../helpers/cli.js";

/**
 * Issue 3 end to end: the app reaches Postgres and Redis through the links, and the
 * production failures happen on purpose: the 500 after idle (Supabase and Neon texts), its
 * fix, prepared statements under transaction pooling, TLS-only Redis.
 */
function start(extra: string[]): Promise<FixtureStack> {
  return upFixture("render-supabase", ["--plan", "starter", ...extra]);
}

async function health(url: string): Promise<number> {
  return (await fetchApp(`${url}/auth/health/`)).status;
}

async function appLogs(dir: string): Promise<string> {
  return (await runCli(["logs", dir, "app", "--tail", "400"])).stdout;
}

/** Two connections through the app's DATABASE_URL: PREPARE on one, a transaction on the other, EXECUTE on the first. */
const PREPARED = `
import os, psycopg2
a = psycopg2.connect(os.environ["DATABASE_URL"]); a.autocommit = True
b = psycopg2.connect(os.environ["DATABASE_URL"])
a.cursor().execute("PREPARE prodlike_p AS SELECT 41 + 1")
b.cursor().execute("SELECT 1")  # holds the server connection that has the statement
try:
    cur = a.cursor(); cur.execute("EXECUTE prodlike_p"); print("result", cur.fetchone()[0])
except Exception as e:
    print("error", str(e).strip().splitlines()[0])
`;

describe("links on supabase-transaction (CONN_MAX_AGE=600, no health checks)", () => {
  let stack: Awaited<ReturnType<typeof start>> | undefined;
  beforeAll(async () => {
    stack = await start([]);
  });
  afterAll(() => downFixture(stack));

  it("gives the app a Supabase-shaped DATABASE_URL that resolves to the link", async () => {
    const result = await runCli(["exec", stack!.fixture.dir, "app", "--", "printenv", "DATABASE_URL"]);
    expect(result.stdout.trim()).toMatch(/^postgresql:\/\/[^@]+@aws-0-eu-central-1\.pooler\.supabase\.com:6543\/\w+\?sslmode=require$/);
  });

  it("turns 16 idle minutes into the 500 production shows, with libpq's text, then recovers", async () => {
    expect(await health(stack!.url)).toBe(200);
    const idle = await runCli(["idle", "16m", stack!.fixture.dir]);
    expect(idle.code, idle.stderr).toBe(0);
    expect(await health(stack!.url)).toBe(500);
    await expect.poll(() => appLogs(stack!.fixture.dir), { timeout: 10_000 }).toContain("SSL connection has been closed unexpectedly");
    expect(await health(stack!.url)).toBe(200);
  });

  it("fails prepared statements across transactions, as Supabase's transaction pooler does", async () => {
    const result = await runCli(["exec", stack!.fixture.dir, "app", "--", "python", "-c", PREPARED]);
    expect(result.stdout.trim()).toBe('error prepared statement "prodlike_p" does not exist');
  });

  it("lets a host-side client connect with sslmode=require through the link", async () => {
    const { stdout } = await runCli(["env", stack!.fixture.dir, "DATABASE_URL"]);
    const { execFile } = await import("node:child_process");
    const out = await new Promise<string>((resolve, reject) =>
      execFile("psql", [stdout.trim(), "-Atc", "select 40 + 2"], (err, so, se) => (err ? reject(new Error(se)) : resolve(so))),
    );
    expect(out.trim()).toBe("42");
  });

  it("adds and removes faults with `chaos`, and shows them in status", async () => {
    const added = await runCli(["chaos", "add", "db", "latency", "latency=400", "-C", stack!.fixture.dir]);
    expect(added.code, added.stderr).toBe(0);
    const status = JSON.parse((await runCli(["status", stack!.fixture.dir, "-o", "json"])).stdout) as { links: { name: string; toxics: { name: string }[] }[] };
    expect(status.links.find((l) => l.name === "db")!.toxics.map((t) => t.name)).toEqual(["supavisor_idle", "latency_downstream"]);
    const started = performance.now();
    expect(await health(stack!.url)).toBe(200);
    expect(performance.now() - started).toBeGreaterThan(400);
    expect((await runCli(["chaos", "rm", "db", "latency_downstream", "-C", stack!.fixture.dir])).code).toBe(0);
    const bad = await runCli(["chaos", "add", "db", "latency", "latency=-5", "-C", stack!.fixture.dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/latency/);
  });
});

describe("links with CONN_HEALTH_CHECKS=true", () => {
  let stack: Awaited<ReturnType<typeof start>> | undefined;
  beforeAll(async () => {
    stack = await start(["-e", "CONN_HEALTH_CHECKS=true"]);
  });
  afterAll(() => downFixture(stack));

  it("survives 16 idle minutes: Django reconnects before reuse", async () => {
    expect(await health(stack!.url)).toBe(200);
    await runCli(["idle", "16m", stack!.fixture.dir]);
    expect(await health(stack!.url)).toBe(200);
  });
});

describe("links on neon with Upstash Redis", () => {
  let stack: Awaited<ReturnType<typeof start>> | undefined;
  beforeAll(async () => {
    stack = await start(["--db", "neon", "--redis", "upstash"]);
  });
  afterAll(() => downFixture(stack));

  it("gives the app its 500 after a suspend, and an open psql session Neon's FATAL 57P01", async () => {
    expect(await health(stack!.url)).toBe(200);
    // A real client idle across the suspend: psql prints the ErrorResponse as it arrives.
    const { stdout: dbUrl } = await runCli(["env", stack!.fixture.dir, "DATABASE_URL"]);
    const psql = spawn("psql", [dbUrl.trim(), "-v", "VERBOSITY=verbose"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    psql.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    psql.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    psql.stdin.write("select 'before' as phase;\n");
    await expect.poll(() => output, { timeout: 10_000 }).toContain("before");

    await runCli(["idle", "16m", stack!.fixture.dir]);
    expect(await health(stack!.url)).toBe(500);
    await expect.poll(() => appLogs(stack!.fixture.dir), { timeout: 10_000 }).toContain("django.db.utils.OperationalError");

    psql.stdin.write("select 'after' as phase;\n");
    await expect.poll(() => output, { timeout: 10_000 }).toMatch(/FATAL:\s+57P01: terminating connection due to administrator command/);
    psql.kill();
    expect(await health(stack!.url)).toBe(200);
  });

  it("fails prepared statements: Neon's -pooler is transaction mode too", async () => {
    const result = await runCli(["exec", stack!.fixture.dir, "app", "--", "python", "-c", PREPARED]);
    expect(result.stdout.trim()).toBe('error prepared statement "prodlike_p" does not exist');
  });

  it("serves Redis over TLS only: the app's rediss:// cache works, TLS clients with the CA connect, plain text is reset", async () => {
    const cache = await fetchApp(`${stack!.url}/cache/`);
    expect(cache.status).toBe(200);
    expect(((await cache.json()) as { backend: string }).backend).toBe("RedisCache");

    const url = new URL(stack!.env.REDIS_URL!);
    expect(url.protocol).toBe("rediss:");
    const ca = await readFile(stack!.env.PRODLIKE_CA!, "utf8");
    const pong = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca, servername: undefined }, () => {
        socket.write(`AUTH default ${decodeURIComponent(url.password)}\r\nPING\r\n`);
      });
      let data = "";
      socket.on("data", (chunk) => {
        data += chunk.toString();
        if (data.includes("PONG")) {
          socket.end();
          resolve(data);
        }
      });
      socket.on("error", reject);
    });
    expect(pong).toBe("+OK\r\n+PONG\r\n");

    // Plain text, as the app would send it on the stack's network (a published port goes through
    // the engine's proxy, which turns the link's reset into a plain close).
    const appUrl = new URL((await runCli(["exec", stack!.fixture.dir, "app", "--", "printenv", "REDIS_URL"])).stdout.trim());
    const plainText = [
      "import socket",
      `s = socket.create_connection((${JSON.stringify(appUrl.hostname)}, ${Number(appUrl.port)}), timeout=10)`,
      "s.sendall(b'PING\\r\\n')",
      "try:",
      "    print('read', s.recv(100))",
      "except ConnectionResetError:",
      "    print('ECONNRESET')",
    ].join("\n");
    const plain = await runCli(["exec", stack!.fixture.dir, "app", "--", "python", "-c", plainText]);
    expect(plain.stdout.trim(), plain.stderr).toBe("ECONNRESET");
  });
});

describe("links on supabase-session", () => {
  let stack: Awaited<ReturnType<typeof start>> | undefined;
  beforeAll(async () => {
    stack = await start(["--db", "supabase-session"]);
  });
  afterAll(() => downFixture(stack));

  it("keeps prepared statements on the session's own server connection", async () => {
    const result = await runCli(["exec", stack!.fixture.dir, "app", "--", "python", "-c", PREPARED]);
    expect(result.stdout.trim()).toBe("result 42");
  });
});
