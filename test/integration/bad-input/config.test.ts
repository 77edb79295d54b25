import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveStack } from "../../../src/config/resolve.js";
import { isProdlikeError } from "../../../src/errors.js";
import { nearlyValid } from "./mutate.js";
import { SEED, Tally } from "./process-health.js";

const RUNS_PER_FILE = 1000;
let dir: string;
let renderYaml: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "prodlike-bad-config-"));
  await mkdir(join(dir, "mysite"));
  await writeFile(join(dir, "manage.py"), "");
  await writeFile(join(dir, "mysite", "wsgi.py"), "");
  await writeFile(join(dir, "requirements.txt"), "django\ngunicorn\n");
  renderYaml = await readFile(join(import.meta.dirname, "..", "..", "..", "fixtures", "render-blueprint", "render.yaml"));
});
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

const text = (s: string) => Buffer.from(s);
const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
/** A YAML value of any type, as text: a mapping where a string is wanted, a list where a mapping is. */
const yamlValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.constantFrom("~", "null", "yes", "0x1F", "1e400", ".nan", "!!binary aGVsbG8=", "2024-01-01", "*nothing", "&a [*a]", "!custom x", "|\n  block", "'unterminated", "{a: 1", "- - -"),
);
/** YAML's own traps: aliases that explode, duplicate keys, deep nesting, tabs. */
const yamlTraps = [
  fc.integer({ min: 1, max: 12 }).map((n) => {
    const lines = ['a0: &a0 ["x", "x"]'];
    for (let i = 1; i <= n; i++) lines.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]`);
    return text(`${lines.join("\n")}\nservices: *a${n}\n`);
  }),
  fc.tuple(key, yamlValue, yamlValue).map(([k, a, b]) => text(`${k}: ${a}\n${k}: ${b}\n`)),
  fc.integer({ min: 50, max: 2000 }).map((n) => text(`${"[".repeat(n)}${"]".repeat(n)}`)),
  fc.integer({ min: 1, max: 5 }).map((n) => text(`services:\n${"\t".repeat(n)}- type: web\n`)),
];

const renderService = fc
  .record({ field: fc.constantFrom("type", "name", "runtime", "env", "plan", "region", "buildCommand", "startCommand", "healthCheckPath", "envVars", "preDeployCommand", "numInstances"), value: yamlValue })
  .map(({ field, value }) => text(`services:\n  - type: web\n    name: app\n    runtime: python\n    ${field}: ${value}\n`));
const renderEnvVar = fc
  .record({ field: fc.constantFrom("key", "value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup"), value: yamlValue })
  .map(({ field, value }) => text(`services:\n  - type: web\n    name: app\n    runtime: python\n    envVars:\n      - key: A\n        ${field}: ${value}\n`));
const renderDatabase = fc
  .tuple(fc.constantFrom("name", "databaseName", "user", "plan", "postgresMajorVersion", "ipAllowList"), yamlValue, fc.constantFrom("connectionString", "host", "port", "nope"))
  .map(([field, value, property]) =>
    text(`databases:\n  - name: db\n    ${field}: ${value}\nservices:\n  - type: web\n    name: app\n    runtime: python\n    envVars:\n      - key: DATABASE_URL\n        fromDatabase: {name: db, property: ${property}}\n`),
  );

const prodlikeValid = fc.constantFrom(
  "plan: free\n",
  "plan: starter\nports: {https: 9443, http: 9080}\nenv: {CONN_MAX_AGE: 600}\n",
  "python: 3.11.9\ncoldStartDelay: 2s\ndb: {profile: neon}\nredis: {profile: upstash}\n",
  "check:\n  paths: [/admin/]\n  clientTimeout: 30s\n  skip: [csrf-origin]\nhealthCheckPath: /healthz\n",
).map(text);
const prodlikeField = fc
  .tuple(fc.constantFrom("service", "plan", "python", "buildCommand", "startCommand", "healthCheckPath", "publicHost", "coldStartDelay", "env", "ports", "db", "redis", "check", "unknownField"), yamlValue)
  .map(([field, value]) => text(`${field}: ${value}\n`));
const prodlikeNested = fc
  .tuple(fc.constantFrom("ports.https", "ports.http", "db.profile", "db.maxClientConnections", "redis.profile", "check.paths", "check.clientTimeout", "check.only", "env.A"), yamlValue)
  .map(([path, value]) => {
    const [outer, inner] = path.split(".");
    return text(`${outer}:\n  ${inner}: ${value}\n`);
  });

const envValid = fc
  .array(fc.tuple(key, fc.oneof(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }).map((s) => `"${s}"`), fc.string({ maxLength: 20 }).map((s) => `'${s}'`))), { maxLength: 6 })
  .map((pairs) => text(pairs.map(([k, v]) => `${k}=${v}`).join("\n")));
const envTraps = [
  fc.tuple(key, fc.constantFrom('"', "'", "`"), fc.string({ maxLength: 30 })).map(([k, q, rest]) => text(`${k}=${q}${rest}\nB=1\n`)),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([k, v]) => text(`export ${k} = ${v}\n`)),
  fc.integer({ min: 1, max: 3000 }).map((n) => text(`A="${"\\".repeat(n)}\n`)),
  fc.integer({ min: 1, max: 2000 }).map((n) => text(`${"A=".repeat(n)}\n${"#".repeat(n)}\r\r\n`)),
];

const procfileValid = fc
  .array(fc.tuple(fc.constantFrom("web", "worker", "release", "clock"), fc.string({ maxLength: 30 })), { maxLength: 4 })
  .map((lines) => text(lines.map(([type, cmd]) => `${type}: ${cmd}`).join("\n")));
const procfileTraps = [
  fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 30 })).map(([type, cmd]) => text(`${type}:${cmd}\n`)),
  fc.integer({ min: 1, max: 5000 }).map((n) => text(`web:${" ".repeat(n)}x${" ".repeat(n)}\n`)),
  fc.integer({ min: 1, max: 5000 }).map((n) => text(`${"w".repeat(n)} ${" ".repeat(n)}\n`)),
];

const cases: { file: string; input: fc.Arbitrary<Buffer> }[] = [
  { file: "render.yaml", input: nearlyValid(fc.constant(null).map(() => renderYaml), [renderService, renderEnvVar, renderDatabase, ...yamlTraps]) },
  { file: "prodlike.yaml", input: nearlyValid(prodlikeValid, [prodlikeField, prodlikeNested, ...yamlTraps]) },
  { file: ".env", input: nearlyValid(envValid, envTraps) },
  { file: "Procfile", input: nearlyValid(procfileValid, procfileTraps) },
];

describe("config parsing under malformed files", () => {
  for (const { file, input } of cases) {
    it(`${file}: resolves, or throws a CONFIG_* error naming file:line`, async () => {
      const tally = new Tally();
      let slowestMs = 0;
      try {
        await fc.assert(
          fc.asyncProperty(input, async (bytes) => {
            await writeFile(join(dir, file), bytes);
            const started = performance.now();
            const outcome = await resolveStack(dir, {}, {}).catch((err: unknown) => err);
            slowestMs = Math.max(slowestMs, performance.now() - started);
            if (typeof outcome === "object" && outcome !== null && "warnings" in outcome) {
              const warnings = (outcome as { warnings: readonly string[] }).warnings.filter((w) => w.startsWith(`${file}:`));
              return tally.add(warnings.length > 0 ? "resolved with a warning naming file:line" : "resolved");
            }
            if (!isProdlikeError(outcome) || !outcome.code.startsWith("CONFIG_")) {
              throw new Error(`${file} made resolveStack throw something other than a CONFIG_* error: ${(outcome as Error)?.stack ?? String(outcome)}`);
            }
            expect(outcome.message, "a config error names the file and line").toContain(`${file}:`);
            expect(outcome.message.split(`${file}:`)[1], "a config error names the file and line").toMatch(/^\d+/);
            tally.add(outcome.code);
          }),
          { seed: SEED, numRuns: RUNS_PER_FILE, endOnFailure: true },
        );
      } finally {
        await rm(join(dir, file), { force: true });
      }
      tally.print(`config ${file} (slowest ${Math.round(slowestMs)} ms)`);
      expect(tally.total).toBe(RUNS_PER_FILE);
    });
  }
});
