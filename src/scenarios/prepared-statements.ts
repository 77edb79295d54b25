import type { StackDescription } from "../config/types.js";
import { appConcurrency, describeConcurrency } from "./app-concurrency.js";
import { djangoShell, RESULT_MARKER } from "./app-shell.js";
import { awaitErrorEvidence, burst, databaseEndpoints, describeProbe, isServerError, warmEndpoints } from "./db-evidence.js";
import { pathsToExercise } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

export const PREPARED_STATEMENTS_FIX =
  'Keep prepared statements off behind a transaction pooler: psycopg2, or psycopg 3 with OPTIONS "prepare_threshold": None (Django\'s default) and without "server_side_binding": True.';

/** The two texts transaction pooling gives a driver that prepares (FACTS.md). */
export const PREPARED_ERROR = /prepared statement "[^"]*" (?:does not exist|already exists)/;

/** psycopg prepares a query after it ran this many times on one connection (its default). */
const PSYCOPG_DEFAULT_THRESHOLD = 5;
const MAX_ROUNDS = 10;
const MAX_BURST = 8;

/** What the app's Django connects with, as it reports it. */
export interface DriverInfo {
  readonly vendor: string;
  /** "psycopg2", "psycopg" (3) or another module. */
  readonly driver?: string;
  readonly version?: string;
  /** psycopg 3 only: Django's cursor binds parameters client-side (its default; never prepares). */
  readonly clientSideBinding?: boolean;
  /** psycopg 3 only: the threshold the connection gets (null: prepared statements off). */
  readonly prepareThreshold?: number | null;
}

const DRIVER_PROBE = `
import json
from django.db import connection as c
info = {"vendor": c.vendor}
if c.vendor == "postgresql":
    from django.db.backends.postgresql.psycopg_any import is_psycopg3
    if is_psycopg3:
        import psycopg
        from psycopg.client_cursor import ClientCursorMixin
        params = c.get_connection_params()
        factory = params.get("cursor_factory")
        info.update(driver="psycopg", version=psycopg.__version__, clientSideBinding=bool(factory and issubclass(factory, ClientCursorMixin)), prepareThreshold=params.get("prepare_threshold", 5))
    else:
        import psycopg2
        info.update(driver="psycopg2", version=psycopg2.__version__.split()[0])
print("${RESULT_MARKER}" + json.dumps(info))
`;

/** Whether this driver configuration sends named prepared statements (Parse with a name). */
export function preparesStatements(info: DriverInfo): boolean {
  return info.driver === "psycopg" && info.clientSideBinding === false && info.prepareThreshold !== null && info.prepareThreshold !== undefined;
}

/** "psycopg2 2.9.10 (never prepares)", "psycopg 3.2.9 (server-side binding, prepare_threshold=5: prepares)". */
export function describeDriver(info: DriverInfo): string {
  if (!info.driver) return `database: ${info.vendor} (not PostgreSQL through psycopg)`;
  const name = `${info.driver} ${info.version ?? ""}`.trim();
  if (info.driver === "psycopg2") return `driver: ${name} (never prepares statements)`;
  if (info.driver !== "psycopg") return `driver: ${name}`;
  if (info.clientSideBinding) return `driver: ${name} (client-side binding, Django's default: never prepares statements)`;
  if (info.prepareThreshold === null || info.prepareThreshold === undefined) return `driver: ${name} (server-side binding, prepare_threshold=None: never prepares statements)`;
  return `driver: ${name} (server-side binding, prepare_threshold=${info.prepareThreshold}: prepares a query after ${info.prepareThreshold} runs on a connection)`;
}

/** How many bursts it takes every connection to pass the threshold (at least two). */
export function roundsFor(info: DriverInfo | undefined): number {
  const threshold = typeof info?.prepareThreshold === "number" ? info.prepareThreshold : PSYCOPG_DEFAULT_THRESHOLD;
  return Math.min(MAX_ROUNDS, Math.max(2, threshold + 2));
}

export function preparedVerdict(input: {
  driver: DriverInfo | string;
  concurrency: string;
  requests: readonly Probe[];
  path: string;
  errorLine: string | undefined;
}): ScenarioVerdict {
  const { driver, concurrency, requests, path, errorLine } = input;
  const failed = requests.filter(isServerError);
  const driverLine = typeof driver === "string" ? `driver: unknown (${driver})` : describeDriver(driver);
  const evidence = [driverLine, `app: ${concurrency}`, `${requests.length} requests to GET ${path}: ${requests.length - failed.length} 2xx-4xx, ${failed.length} 5xx or no answer`];
  if (failed[0]) evidence.push(describeProbe(failed[0]));
  if (errorLine) evidence.push(errorLine);
  const prepares = typeof driver !== "string" && preparesStatements(driver);
  if (errorLine && PREPARED_ERROR.test(errorLine)) {
    return {
      status: "fail",
      summary: `the transaction pooler broke the app's prepared statements: ${failed.length} of ${requests.length} requests to GET ${path} failed`,
      evidence,
      fix: PREPARED_STATEMENTS_FIX,
    };
  }
  if (prepares) {
    return {
      status: "fail",
      summary: `the app prepares statements (${driverLine.replace(/^driver: /, "")}); none collided in ${requests.length} requests here, but a transaction pooler hands each transaction any server connection, so they will`,
      evidence,
      fix: PREPARED_STATEMENTS_FIX,
    };
  }
  return {
    status: "pass",
    summary: `no prepared statement errors in ${requests.length} requests to GET ${path}: ${driverLine.replace(/^driver: /, "")}`,
    evidence,
    fix: PREPARED_STATEMENTS_FIX,
  };
}

async function run(context: ScenarioContext): Promise<ScenarioVerdict> {
  const since = Date.now();
  const asked = await djangoShell<DriverInfo>(context, DRIVER_PROBE);
  const driver = asked.ok ? asked.value : asked.error;
  const concurrency = await appConcurrency(context);
  const warm = await warmEndpoints(context, pathsToExercise(context));
  const path = databaseEndpoints(warm)[0];
  if (!path) {
    return { status: "skip", summary: "no endpoint answered 2xx: nothing to drive", evidence: warm.map((w) => describeProbe(w.probe)), fix: PREPARED_STATEMENTS_FIX };
  }
  // Every worker thread's connection must run the same query past the threshold, and several
  // connections must share the pooler's server connections: bursts of one per thread (+1).
  const size = Math.min(MAX_BURST, concurrency.workers * concurrency.threads + 1);
  const requests: Probe[] = [];
  for (let round = 0; round < roundsFor(asked.ok ? asked.value : undefined); round++) {
    requests.push(...(await burst(context, [path], size)));
  }
  const failed = requests.filter(isServerError);
  const errorLine = await awaitErrorEvidence(context, since, failed, [PREPARED_ERROR]);
  return preparedVerdict({ driver, concurrency: describeConcurrency(concurrency), requests, path, errorLine });
}

function transactionMode(description: StackDescription): boolean {
  return description.database.profile === "supabase-transaction" || description.database.profile === "neon";
}

export const preparedStatements: Scenario = {
  id: "prepared-statements",
  title: "prepared statements behind a transaction pooler (Supabase 6543, Neon -pooler)",
  applies: (description) =>
    transactionMode(description)
      ? true
      : `${description.database.profile} keeps one server connection per client (session mode or no pooler): prepared statements work there`,
  baseline: "endpoints",
  run,
};
