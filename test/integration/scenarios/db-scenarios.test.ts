import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.js";
import { maxClientConnections } from "../../../src/scenarios/max-client-connections.js";
import { poolerIdleDrop } from "../../../src/scenarios/pooler-idle-drop.js";
import { preparedStatements } from "../../../src/scenarios/prepared-statements.js";
import { createScenarioContext } from "../../../src/scenarios/context.js";
import { discoverEndpoints } from "../../../src/scenarios/endpoints.js";
import type { Scenario, ScenarioContext, ScenarioVerdict } from "../../../src/scenarios/scenario.js";
import { up, type RunningStack } from "../../../src/stack.js";
import { copyFixture, leftovers } from "../../helpers/cli.js";

/**
 * The database scenarios of `prodlike check` on real stacks, one stack per fixture and
 * configuration (buggy, fixed), several scenarios per stack. Links are reset between
 * scenarios, as the runner does.
 */
interface Setup {
  readonly env?: Record<string, string>;
  /** Install psycopg 3 next to psycopg2: Django then prefers it. */
  readonly psycopg3?: boolean;
  readonly prodlikeYaml?: string;
}

interface Running {
  stack: RunningStack;
  context: ScenarioContext;
  project: string;
  dispose(): Promise<void>;
}

async function start(fixture: string, setup: Setup): Promise<Running> {
  const copy = await copyFixture(fixture);
  if (setup.psycopg3) await appendFile(join(copy.dir, "requirements.txt"), "psycopg[binary]==3.2.9\n");
  if (setup.prodlikeYaml) await writeFile(join(copy.dir, "prodlike.yaml"), setup.prodlikeYaml);
  const stack = await up(copy.dir, { overrides: { httpsPort: 0, httpPort: 0, plan: "starter", env: setup.env ?? {} } });
  const logger = silentLogger();
  const endpoints = (await discoverEndpoints(createScenarioContext(stack, ["/"], logger).request, stack.description, stack.url)).paths;
  return {
    stack,
    context: createScenarioContext(stack, endpoints, logger),
    project: copy.project,
    dispose: async () => {
      await stack.down({ volumes: true });
      expect(await leftovers(copy.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
      await copy.dispose();
    },
  };
}

async function check(running: Running, scenario: Scenario): Promise<ScenarioVerdict> {
  expect(scenario.applies(running.stack.description)).toBe(true);
  await running.stack.links.reset();
  return scenario.run(running.context);
}

describe("render-supabase, buggy: psycopg 3 preparing, CONN_MAX_AGE=600 without health checks, 4 threads over a limit of 2", () => {
  let running: Running | undefined;
  beforeAll(async () => {
    running = await start("render-supabase", {
      psycopg3: true,
      env: { CONN_MAX_AGE: "600", CONN_HEALTH_CHECKS: "false", DB_SERVER_SIDE_BINDING: "true", DB_PREPARE_THRESHOLD: "5", GUNICORN_THREADS: "4" },
      prodlikeYaml: "db:\n  maxClientConnections: 2\n",
    });
  });
  afterAll(() => running?.dispose());

  it("pooler-idle-drop fails Supabase-style: 200 warm, 500 after 11 min idle, libpq's close_notify text", async () => {
    const verdict = await check(running!, poolerIdleDrop);
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toMatch(/^Supabase \(Supavisor\) style: GET \/\S+ answered 500 after 11 min idle/);
    expect(verdict.evidence).toContain("Supabase (Supavisor) style: idle connections dropped after 10 min (silent close with TLS close_notify, no ErrorResponse)");
    expect(verdict.evidence.some((l) => /^GET \/auth\/health\/ → 200 in \d+ ms \(warm\)$/.test(l))).toBe(true);
    expect(verdict.evidence.some((l) => /^GET \/auth\/health\/ → 500 in \d+ ms after 11 min idle$/.test(l))).toBe(true);
    expect(verdict.evidence.at(-1)).toMatch(/^OperationalError: .*SSL connection has been closed unexpectedly$/);
  });

  it("max-client-connections fails with Supavisor's limit error once 4 threads meet a limit of 2", async () => {
    const verdict = await check(running!, maxClientConnections);
    expect(verdict.status, verdict.evidence.join("\n")).toBe("fail");
    expect(verdict.evidence).toContain("app: gunicorn 1 worker × 4 threads (gthread) = up to 4 database connections at once");
    expect(verdict.evidence).toContain("Supabase transaction pooler (Supavisor): limit 2 client connections (prodlike.yaml db.maxClientConnections)");
    expect(verdict.evidence).toContain("db link: peak 2 client connections of 2 allowed");
    expect(verdict.evidence.join("\n")).toMatch(/max client connections reached, limit: 2/);
    expect(verdict.fix).toMatch(/1 × 4/);
  });

  it("prepared-statements fails with the pooler's error and names the driver", async () => {
    const verdict = await check(running!, preparedStatements);
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence[0]).toMatch(/^driver: psycopg 3\.2\.9 \(server-side binding, prepare_threshold=5/);
    expect(verdict.evidence.join("\n")).toMatch(/prepared statement "_pg3_\d+" (does not exist|already exists)/);
    expect(verdict.evidence.join("\n")).toMatch(/GET \/auth\/health\/ → 500/);
  });
});

describe("render-supabase, fixed: psycopg 3 with Django's defaults, CONN_HEALTH_CHECKS=true", () => {
  let running: Running | undefined;
  beforeAll(async () => {
    running = await start("render-supabase", { psycopg3: true, env: { CONN_MAX_AGE: "600", CONN_HEALTH_CHECKS: "true" } });
  });
  afterAll(() => running?.dispose());

  it("pooler-idle-drop passes after 11 min idle", async () => {
    const verdict = await check(running!, poolerIdleDrop);
    expect(verdict.status, verdict.evidence.join("\n")).toBe("pass");
    expect(verdict.evidence).toContain("db link: 1 connection held open by the app going into the idle span");
    expect(verdict.evidence.some((l) => /^GET \/auth\/health\/ → 200 in \d+ ms after 11 min idle$/.test(l))).toBe(true);
  });

  it("max-client-connections passes under the profile's 200", async () => {
    const verdict = await check(running!, maxClientConnections);
    expect(verdict.status, verdict.summary).toBe("pass");
    expect(verdict.evidence).toContain("db link: peak 1 client connection of 200 allowed");
  });

  it("prepared-statements passes: client-side binding never prepares", async () => {
    const verdict = await check(running!, preparedStatements);
    expect(verdict.status, verdict.summary).toBe("pass");
    expect(verdict.evidence[0]).toBe("driver: psycopg 3.2.9 (client-side binding, Django's default: never prepares statements)");
  });
});

describe("render-neon-upstash-cloudinary, buggy: CONN_HEALTH_CHECKS=false, 2 workers × 4 threads over a limit of 4", () => {
  let running: Running | undefined;
  beforeAll(async () => {
    running = await start("render-neon-upstash-cloudinary", { env: { CONN_HEALTH_CHECKS: "false" }, prodlikeYaml: "db:\n  maxClientConnections: 4\n" });
  });
  afterAll(() => running?.dispose());

  it("pooler-idle-drop fails Neon-style after 6 min idle", async () => {
    const verdict = await check(running!, poolerIdleDrop);
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toMatch(/^Neon style: GET \/\S* answered 500 after 6 min idle/);
    expect(verdict.evidence[0]).toBe("Neon style: idle connections dropped after 5 min (compute suspend: FATAL 57P01 terminating connection due to administrator command)");
    expect(verdict.evidence.at(-1)).toMatch(/^OperationalError: /);
  });

  it("max-client-connections fails with PgBouncer's max_client_conn error", async () => {
    const verdict = await check(running!, maxClientConnections);
    expect(verdict.status, verdict.evidence.join("\n")).toBe("fail");
    expect(verdict.evidence).toContain("app: gunicorn 2 workers × 4 threads (gthread) = up to 8 database connections at once");
    expect(verdict.evidence.join("\n")).toMatch(/FATAL: +no more connections allowed \(max_client_conn\)/);
  });

  it("prepared-statements passes: psycopg2 never prepares", async () => {
    const verdict = await check(running!, preparedStatements);
    expect(verdict.status, verdict.summary).toBe("pass");
    expect(verdict.evidence[0]).toBe("driver: psycopg2 2.9.10 (never prepares statements)");
  });
});

describe("render-neon-upstash-cloudinary, fixed (as shipped: CONN_HEALTH_CHECKS=true)", () => {
  let running: Running | undefined;
  beforeAll(async () => {
    running = await start("render-neon-upstash-cloudinary", {});
  });
  afterAll(() => running?.dispose());

  it("pooler-idle-drop passes Neon-style", async () => {
    const verdict = await check(running!, poolerIdleDrop);
    expect(verdict.status, verdict.evidence.join("\n")).toBe("pass");
    expect(verdict.summary).toMatch(/^Neon style: .* still answered after 6 min idle/);
  });

  it("max-client-connections passes under Neon's 10,000", async () => {
    const verdict = await check(running!, maxClientConnections);
    expect(verdict.status, verdict.summary).toBe("pass");
    expect(verdict.evidence).toContain("Neon's pooler (PgBouncer): limit 10000 client connections (the neon profile's default)");
  });
});
