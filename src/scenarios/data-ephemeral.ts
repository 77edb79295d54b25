import { djangoShell, RESULT_MARKER, type ShellResult } from "./app-shell.js";
import { seconds } from "./exercise.js";
import type { Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

/**
 * Data on the ephemeral disk: settings that keep the app's rows somewhere other than the
 * database Render gave it (DATABASE_URL), typically SQLite unless some other variable is set.
 * Found from the outside: the app's own DATABASES as its settings build them in its
 * container, and a row written through its connection, a wake into a fresh container, and the
 * row read back.
 */

/** The probe's own table, created and dropped by the check: no model of the app is touched. */
const TABLE = "prodlike_check_probe";

/** One database of the app's DATABASES, as its settings resolve it. */
export interface DatabaseSetting {
  readonly alias: string;
  readonly engine: string;
  readonly name: string;
  readonly host: string;
  readonly port: string;
}

export interface DatabaseFacts {
  readonly databases: readonly DatabaseSetting[];
  /** The host DATABASE_URL names in the app's container (null: not set). */
  readonly databaseUrlHost: string | null;
  /** Environment variables the settings looked up that are not set (one may be the switch). */
  readonly unsetReads: readonly string[];
}

export interface WriteResult {
  readonly rows: number;
}

export interface ReadResult {
  readonly table: boolean;
  readonly rows: number;
}

/** Records each variable the settings ask for and do not find, then reads DATABASES. */
const READ_DATABASES = `
import json, os
from urllib.parse import urlsplit
unset = []
_environ = type(os.environ)
class _Recording(_environ):
    def __getitem__(self, key):
        try:
            return _environ.__getitem__(self, key)
        except KeyError:
            if key not in unset:
                unset.append(key)
            raise
os.environ.__class__ = _Recording
try:
    from django.conf import settings
    dbs = [{"alias": alias, "engine": str(c.get("ENGINE", "")), "name": str(c.get("NAME", "") or ""), "host": str(c.get("HOST", "") or ""), "port": str(c.get("PORT", "") or "")} for alias, c in settings.DATABASES.items()]
finally:
    os.environ.__class__ = _environ
url = os.environ.get("DATABASE_URL", "")
print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"databases": dbs, "databaseUrlHost": urlsplit(url).hostname if url else None, "unsetReads": unset}))
`;

const WRITE = (token: string) => `
import json
from django.db import connections
with connections["default"].cursor() as cur:
    cur.execute("CREATE TABLE IF NOT EXISTS ${TABLE} (token varchar(64) NOT NULL)")
    cur.execute("INSERT INTO ${TABLE} (token) VALUES (%s)", [${JSON.stringify(token)}])
    cur.execute("SELECT COUNT(*) FROM ${TABLE} WHERE token = %s", [${JSON.stringify(token)}])
    rows = cur.fetchone()[0]
print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"rows": rows}))
`;

/** Read the row back and drop the probe's table, wherever it still is. */
const READ_AND_DROP = (token: string) => `
import json
from django.db import connections
c = connections["default"]
table = "${TABLE}" in c.introspection.table_names()
rows = 0
if table:
    with c.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM ${TABLE} WHERE token = %s", [${JSON.stringify(token)}])
        rows = cur.fetchone()[0]
        cur.execute("DROP TABLE ${TABLE}")
print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"table": table, "rows": rows}))
`;

export function fixFor(facts: DatabaseFacts | undefined): string {
  const reads = facts?.unsetReads.filter((name) => name !== "DATABASE_URL") ?? [];
  const waits = reads.length > 0 ? ` (the settings read ${reads.slice(0, 6).join(", ")}, unset here)` : "";
  return (
    "Build DATABASES from DATABASE_URL whenever it is set, e.g. " +
    'DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / \'db.sqlite3\'}", conn_max_age=600, conn_health_checks=True)} ' +
    `(SQLite stays for local development only), or set the variable your settings wait for before they use it${waits}; ` +
    "Render's disk is wiped on every spin-down, restart and deploy, and a SQLite file on it with it."
  );
}

export function isSqlite(db: DatabaseSetting): boolean {
  return /sqlite/i.test(db.engine);
}

/** "django.db.backends.sqlite3, NAME /opt/…/db.sqlite3", "django.db.backends.postgresql at host:6543". */
export function describeDatabase(db: DatabaseSetting): string {
  if (isSqlite(db)) return `DATABASES["${db.alias}"]: ${db.engine}, NAME ${db.name || "(unset)"} (a file on the instance's disk)`;
  return `DATABASES["${db.alias}"]: ${db.engine} at ${db.host || "(no HOST: a local socket)"}${db.port ? `:${db.port}` : ""}`;
}

/** The app's default database is the server DATABASE_URL names: rows live outside the instance. */
export function usesGivenDatabase(facts: DatabaseFacts): boolean {
  const db = facts.databases.find((d) => d.alias === "default");
  return !!db && !isSqlite(db) && facts.databaseUrlHost !== null && db.host.toLowerCase() === facts.databaseUrlHost.toLowerCase();
}

function settingsEvidence(facts: DatabaseFacts): string[] {
  const lines = facts.databases.map(describeDatabase);
  lines.push(facts.databaseUrlHost ? `DATABASE_URL in the app's container: a database at ${facts.databaseUrlHost}` : "DATABASE_URL is not set in the app's container");
  const reads = facts.unsetReads.filter((name) => name !== "DATABASE_URL");
  if (reads.length > 0) lines.push(`variables the settings read that are not set: ${reads.slice(0, 8).join(", ")}`);
  return lines;
}

/** The verdict from the settings, the row written and, after a wake into a fresh container, read back. */
export function dataVerdict(input: { facts: DatabaseFacts; written: WriteResult; after?: ReadResult; wakeMs?: number }): ScenarioVerdict {
  const { facts, written, after } = input;
  const evidence = [...settingsEvidence(facts), `wrote a row to ${TABLE} through the app's connection: ${written.rows} row(s) there right after`];
  const db = facts.databases.find((d) => d.alias === "default");
  const where = db ? (isSqlite(db) ? `the SQLite file ${db.name}` : `${db.engine.split(".").at(-1)} at ${db.host || "a local socket"}`) : "its database";
  if (after === undefined) {
    evidence.push("the database server is not the instance: a spin-down, restart or deploy replaces the instance, not the rows");
    return { status: "pass", summary: `the app keeps its rows in the database DATABASE_URL names (${where}), off the instance's disk`, evidence, fix: fixFor(facts) };
  }
  evidence.push(
    `spun down, woke in a fresh container (${seconds(input.wakeMs ?? 0)}): ` +
      (after.table ? `${after.rows} row(s) with the token` : `the table ${TABLE} is gone`),
  );
  if (after.rows === 0) {
    return {
      status: "fail",
      summary: `a row the app wrote to its database (${where}) was gone after the instance woke in a fresh container: its data lives on the ephemeral disk, not in the database DATABASE_URL names`,
      evidence,
      fix: fixFor(facts),
    };
  }
  return {
    status: "pass",
    summary: `a row the app wrote to its database (${where}) was still there after a wake in a fresh container`,
    evidence,
    fix: fixFor(facts),
  };
}

function cannot(summary: string, evidence: string[], facts?: DatabaseFacts): ScenarioVerdict {
  return { status: "fail", summary, evidence, fix: fixFor(facts) };
}

async function run(context: ScenarioContext): Promise<ScenarioVerdict> {
  const read = await djangoShell<DatabaseFacts>(context, READ_DATABASES, { lazy: true });
  if (!read.ok) return cannot("the app's DATABASES setting could not be read in its container", [`settings.DATABASES: ${read.error}`]);
  const facts = read.value;
  if (!facts.databases.some((d) => d.alias === "default")) {
    return { status: "skip", summary: "the app's settings define no default database", evidence: settingsEvidence(facts), fix: "" };
  }
  const token = `check-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const written: ShellResult<WriteResult> = await djangoShell<WriteResult>(context, WRITE(token), { lazy: true });
  if (!written.ok) {
    return cannot("the app could not write a row to its default database", [...settingsEvidence(facts), `a row to ${TABLE}: ${written.error}`], facts);
  }
  if (usesGivenDatabase(facts)) {
    const cleaned = await djangoShell<ReadResult>(context, READ_AND_DROP(token), { lazy: true });
    if (!cleaned.ok) context.logger.debug({ err: cleaned.error }, `the check's table ${TABLE} was not dropped`);
    return dataVerdict({ facts, written: written.value });
  }
  // Anywhere else (SQLite, another host) only a fresh container tells whether the rows survive.
  const started = performance.now();
  await context.stack.sleep();
  await context.stack.wake();
  const wakeMs = performance.now() - started;
  const after = await djangoShell<ReadResult>(context, READ_AND_DROP(token), { lazy: true });
  if (!after.ok) {
    return cannot("the app's database could not be read after a wake", [...settingsEvidence(facts), `the row after the wake: ${after.error}`], facts);
  }
  return dataVerdict({ facts, written: written.value, after: after.value, wakeMs });
}

export const dataEphemeral: Scenario = {
  id: "data-ephemeral",
  title: "the app's data in the database it was given (DATABASE_URL), not on the ephemeral disk",
  applies: () => true,
  run,
};
