import type { DbProfile, StackDescription } from "../config/types.js";
import { appConcurrency, describeConcurrency, type AppConcurrency } from "./app-concurrency.js";
import { awaitErrorEvidence, burst, databaseEndpoints, describeProbe, isServerError, warmEndpoints } from "./db-evidence.js";
import { pathsToExercise } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

/** The pooler's client limit and how it says no, per profile (FACTS.md; Supabase's free compute). */
export interface PoolerLimit {
  readonly pooler: string;
  readonly limit: number;
  readonly flavor: "supavisor_transaction" | "supavisor_session" | "pgbouncer";
  /** Where the number came from: the profile's default or prodlike.yaml. */
  readonly source: string;
}

const PROFILE_LIMITS: Partial<Record<DbProfile, Omit<PoolerLimit, "source">>> = {
  // Supabase's free (Nano) compute: 200 pooler clients, pool_size 15 (unpublished elsewhere: a knob).
  "supabase-transaction": { pooler: "Supabase transaction pooler (Supavisor)", limit: 200, flavor: "supavisor_transaction" },
  "supabase-session": { pooler: "Supabase session pooler (Supavisor)", limit: 15, flavor: "supavisor_session" },
  neon: { pooler: "Neon's pooler (PgBouncer)", limit: 10_000, flavor: "pgbouncer" },
};

/** Each request holds its connection this long (a latency toxic), so the burst really overlaps. */
const HOLD_MS = 150;
const MAX_BURST = 64;
const LIMIT_TOXIC = "check_max_clients";
const HOLD_TOXIC = "check_hold";
export const LIMIT_ERROR = /max client connections reached|no more connections allowed|max clients reached in session mode/;

export function poolerLimit(description: StackDescription): PoolerLimit | undefined {
  const profile = PROFILE_LIMITS[description.database.profile];
  if (!profile) return undefined;
  const knob = description.database.maxClientConnections;
  return knob === undefined ? { ...profile, source: `the ${description.database.profile} profile's default` } : { ...profile, limit: knob, source: "prodlike.yaml db.maxClientConnections" };
}

export function maxClientsFix(limit: PoolerLimit, concurrency: AppConcurrency): string {
  return (
    `Keep every process's connections (WEB_CONCURRENCY × threads, here ${concurrency.workers} × ${concurrency.threads}, plus workers, cron and other services) ` +
    `below the pooler's ${limit.limit} clients, or raise the limit (a bigger compute or pool size).`
  );
}

/** More requests at once than the app can serve: every thread busy, with a queue behind. */
export function burstSize(concurrency: AppConcurrency): number {
  return Math.min(MAX_BURST, Math.max(4, concurrency.workers * concurrency.threads * 2));
}

export function maxClientsVerdict(input: {
  limit: PoolerLimit;
  concurrency: AppConcurrency;
  path: string;
  requests: readonly Probe[];
  peak: number;
  errorLine: string | undefined;
  /** Connections the app held before the burst (then replaced by a fresh instance). */
  heldBefore?: number;
}): ScenarioVerdict {
  const { limit, concurrency, path, requests, peak, errorLine, heldBefore = 0 } = input;
  const failed = requests.filter(isServerError);
  const evidence = [
    `app: ${describeConcurrency(concurrency)} = up to ${concurrency.workers * concurrency.threads} database connections at once`,
    `${limit.pooler}: limit ${limit.limit} client connections (${limit.source})`,
    ...(heldBefore > 0 ? [`the app held ${heldBefore} connection${heldBefore === 1 ? "" : "s"} from earlier requests: a fresh instance (sleep and wake) started without them`] : []),
    `burst: ${requests.length} concurrent GET ${path}, each query held ${HOLD_MS} ms`,
    `db link: peak ${peak} client connection${peak === 1 ? "" : "s"} of ${limit.limit} allowed`,
    `${failed.length} of ${requests.length} answered 5xx or nothing`,
  ];
  if (failed[0]) evidence.push(describeProbe(failed[0]));
  if (errorLine) evidence.push(errorLine);
  const fix = maxClientsFix(limit, concurrency);
  if (errorLine && LIMIT_ERROR.test(errorLine)) {
    return {
      status: "fail",
      summary: `the app opened more connections than the pooler allows (limit ${limit.limit}): ${failed.length} of ${requests.length} concurrent requests failed`,
      evidence,
      fix,
    };
  }
  if (peak > limit.limit) {
    return {
      status: "fail",
      summary: `the app held ${peak} connections at once, more than the pooler's ${limit.limit}: production refuses the ones beyond the limit`,
      evidence,
      fix,
    };
  }
  if (failed.length > 0) {
    return {
      status: "fail",
      summary: `${failed.length} of ${requests.length} concurrent requests failed under the burst (peak ${peak} of ${limit.limit} connections), without the pooler's limit error`,
      evidence,
      fix,
    };
  }
  return {
    status: "pass",
    summary: `${requests.length} concurrent requests peaked at ${peak} of ${limit.limit} pooler connections: no client was refused`,
    evidence,
    fix,
  };
}

async function run(context: ScenarioContext): Promise<ScenarioVerdict> {
  const limit = poolerLimit(context.description);
  if (!limit) return { status: "skip", summary: notApplicable(context.description), evidence: [], fix: "" };
  const link = context.stack.links.db;
  const concurrency = await appConcurrency(context);
  const open = async () => (await link.connections()).filter((c) => c.state === "open").length;
  // Connections opened before the limit is in place would slip past it (and an idle drop may
  // have broken some): start a fresh instance, as Render's sleep and wake would.
  const heldBefore = await open();
  if (heldBefore > 0) {
    await context.stack.sleep();
    await context.stack.wake();
  }
  const warm = await warmEndpoints(context, pathsToExercise(context));
  const path = databaseEndpoints(warm)[0];
  if (!path) {
    return { status: "skip", summary: "no endpoint answered 2xx: nothing to drive", evidence: warm.map((w) => describeProbe(w.probe)), fix: "" };
  }
  const existing = (await link.toxics()).find((t) => t.type === "max_connections");
  const effective = existing ? { ...limit, limit: existing.attributes.limit as number, source: `the db link's toxic "${existing.name}"` } : limit;
  const added: string[] = [];
  if (!existing) {
    await link.addToxic({ type: "max_connections", name: LIMIT_TOXIC, attributes: { limit: limit.limit, flavor: limit.flavor } });
    added.push(LIMIT_TOXIC);
  }
  await link.addToxic({ type: "latency", name: HOLD_TOXIC, attributes: { latency: HOLD_MS } });
  added.push(HOLD_TOXIC);

  let peak = 0;
  // One count in flight at a time: each is a request to the platform.
  let sampling: Promise<void> | undefined;
  const sample = () => {
    sampling ??= open()
      .then((count) => void (peak = Math.max(peak, count)))
      .catch(() => {})
      .finally(() => (sampling = undefined));
    return sampling;
  };
  const sampler = setInterval(sample, 5);
  const since = Date.now();
  let requests: Probe[];
  try {
    requests = await burst(context, [path], burstSize(concurrency));
  } finally {
    clearInterval(sampler);
    await sampling;
    for (const name of added) await link.removeToxic(name).catch(() => {});
  }
  await sample();
  const failed = requests.filter(isServerError);
  const errorLine = await awaitErrorEvidence(context, since, failed, [LIMIT_ERROR]);
  return maxClientsVerdict({ limit: effective, concurrency, path, requests, peak, errorLine, heldBefore });
}

function notApplicable(description: StackDescription): string {
  return `${description.database.profile} has no pooler in front of Postgres: the limit is Postgres' own max_connections`;
}

export const maxClientConnections: Scenario = {
  id: "max-client-connections",
  title: "the pooler's client connection limit under a burst of concurrent requests",
  applies: (description) => (poolerLimit(description) ? true : notApplicable(description)),
  baseline: "endpoints",
  run,
};
