import { spawn, spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { PostgresLink } from "../../../src/links/postgres/postgres-link.js";
import { fakePostgres } from "./fake-postgres.js";
import { useTempCa } from "../../helpers/ca.js";
import { cleanup, disposers } from "./helpers.js";

const hasPsql = spawnSync("psql", ["--version"]).status === 0;
const temp = useTempCa();
afterEach(cleanup);

/** psql reading queries from a pipe, one at a time, through the link; returns its stderr after the idle span. */
async function psqlAcrossIdle(toxic: Record<string, unknown>): Promise<{ stderr: string; stdout: string }> {
  const backend = await fakePostgres();
  const clock = new VirtualClock();
  const link = await new PostgresLink({
    name: "db",
    upstream: { host: "127.0.0.1", port: backend.port },
    clock,
    tls: { ca: temp.ca, names: ["localhost", "127.0.0.1"] },
    toxics: [toxic],
  }).start();
  disposers.push(() => link.stop());
  const url = `postgresql://postgres.ref:pw@localhost:${link.port}/postgres?sslmode=verify-full&sslrootcert=${temp.ca.certPath}`;
  const psql = spawn("psql", [url, "-X", "-A", "-t"], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, PGCONNECT_TIMEOUT: "5" } });
  disposers.push(() => void psql.kill());
  let stdout = "";
  let stderr = "";
  psql.stdout.on("data", (d) => (stdout += d));
  psql.stderr.on("data", (d) => (stderr += d));
  psql.stdin.write("select 1;\n");
  await expect.poll(() => stdout, { timeout: 5000 }).toContain("1");
  await clock.advance(16 * 60_000);
  await expect.poll(() => link.connections().filter((c) => c.state === "open").length).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the close reach psql's socket
  psql.stdin.end("select 1;\n");
  await new Promise((resolve) => psql.on("close", resolve));
  return { stderr, stdout };
}

describe.skipIf(!hasPsql)("libpq (psql) through the Postgres link", { timeout: 20_000 }, () => {
  it("silent idle drop with close_notify: 'SSL connection has been closed unexpectedly'", async () => {
    const { stderr } = await psqlAcrossIdle({ type: "idle_drop", attributes: { timeout: "15m" } });
    expect(stderr).toContain("SSL connection has been closed unexpectedly");
  });

  it("silent idle drop without close_notify: EOF without close_notify", async () => {
    const { stderr } = await psqlAcrossIdle({ type: "idle_drop", attributes: { timeout: "15m", close_notify: false } });
    expect(stderr).toContain("SSL SYSCALL error: EOF detected");
  });

  it("PgBouncer client_idle_timeout: FATAL client_idle_timeout", async () => {
    const { stderr } = await psqlAcrossIdle({ type: "idle_drop", attributes: { timeout: "15m", mode: "fatal" } });
    expect(stderr).toContain("FATAL:  client_idle_timeout");
  });

  it("Neon suspend: FATAL terminating connection due to administrator command", async () => {
    const { stderr } = await psqlAcrossIdle({ type: "neon_suspend", attributes: { after: "5m" } });
    expect(stderr).toContain("FATAL:  terminating connection due to administrator command");
  });
});
