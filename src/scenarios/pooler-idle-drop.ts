import type { StackDescription } from "../config/types.js";
import type { Toxic } from "../links/index.js";
import { parseToxic } from "../links/parse-toxic.js";
import { planLinks } from "../services/link-plan.js";
import { matchingLines, pathsToExercise } from "./exercise.js";
import { awaitErrorEvidence, DB_ERROR_PATTERNS, databaseEndpoints, describeProbe, isServerError, isSuccess, minutes, warmEndpoints } from "./db-evidence.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

export const POOLER_IDLE_DROP_FIX =
  "Set CONN_HEALTH_CHECKS = True (Django ≥ 4.1) so Django pings a persistent connection before reusing it, or CONN_MAX_AGE = 0 to open a fresh connection per request.";

/** How the pooler ends an idle connection, read from the link's toxic. */
export interface IdleStyle {
  /** "Supabase (Supavisor)", "Neon", "PgBouncer". */
  readonly name: string;
  /** What the app's connection gets, for the evidence. */
  readonly how: string;
  /** Virtual time after which an idle connection is gone. */
  readonly afterMs: number;
  /** The toxic as the link has it (or will have it for the scenario). */
  readonly toxic: { readonly type: string; readonly name: string; readonly attributes: Readonly<Record<string, unknown>> };
}

/** The idle fault of the link's toxics (the shortest, if several), or undefined. */
export function idleStyleOf(toxics: readonly Pick<Toxic, "type" | "name" | "attributes">[]): IdleStyle | undefined {
  const styles = toxics.flatMap((toxic): IdleStyle[] => {
    if (toxic.type === "neon_suspend") {
      return [{ name: "Neon", how: "compute suspend: FATAL 57P01 terminating connection due to administrator command", afterMs: toxic.attributes.after as number, toxic }];
    }
    if (toxic.type !== "idle_drop") return [];
    const afterMs = toxic.attributes.timeout as number;
    if (toxic.attributes.mode === "fatal") return [{ name: "PgBouncer", how: "FATAL 08P01 client_idle_timeout", afterMs, toxic }];
    const notify = toxic.attributes.close_notify !== false;
    return [{ name: "Supabase (Supavisor)", how: `silent close${notify ? " with TLS close_notify" : " without close_notify (FIN only)"}, no ErrorResponse`, afterMs, toxic }];
  });
  return styles.sort((a, b) => a.afterMs - b.afterMs)[0];
}

/** The profile's own idle fault (what the stack starts with), validated like the link does. */
export function profileIdleStyle(description: StackDescription): IdleStyle | undefined {
  return idleStyleOf(planLinks(description).db.toxics.map((input) => parseToxic(input, "postgres")));
}

/**
 * How long to idle: a minute past the pooler's timeout, but short of Render's sleep (a slept
 * instance wakes with fresh connections and would hide the bug). A string: why it cannot run.
 */
export function idleSpan(afterMs: number, sleepAfterMs: number | null): number | string {
  const wanted = afterMs + 60_000;
  if (sleepAfterMs === null || wanted < sleepAfterMs) return wanted;
  if (afterMs + 1000 < sleepAfterMs) return sleepAfterMs - 1000;
  return `the pooler's idle timeout (${minutes(afterMs)}) is not shorter than Render's sleep (${minutes(sleepAfterMs)}): the instance sleeps first and wakes with fresh connections`;
}

/** Requests per endpoint after the idle span, up to the first 5xx. */
const AFTER_IDLE_TRIES = 8;

/** Each endpoint before and after the idle span. */
export interface IdleRound {
  readonly path: string;
  readonly warm: Probe;
  readonly after: readonly Probe[];
}

/** Pass or fail from the probes: an endpoint that answered 2xx warm and 5xx (or nothing) after idle. */
export function idleVerdict(input: {
  style: IdleStyle;
  idleMs: number;
  rounds: readonly IdleRound[];
  openBefore: number;
  errorLine: string | undefined;
  /** The app's error line for a dropped connection that another request (a health check) met. */
  elsewhere?: string | undefined;
}): ScenarioVerdict {
  const { style, idleMs, rounds, openBefore, errorLine, elsewhere } = input;
  const idle = minutes(idleMs);
  const styleLine = `${style.name} style: idle connections dropped after ${minutes(style.afterMs)} (${style.how})`;
  const held = `db link: ${openBefore} connection${openBefore === 1 ? "" : "s"} held open by the app going into the idle span`;
  const broken = rounds.filter((r) => isSuccess(r.warm) && r.after.some(isServerError));
  const evidence: string[] = [styleLine, held];
  for (const round of broken.length > 0 ? broken : rounds) {
    evidence.push(`${describeProbe(round.warm)} (warm)`);
    const shown = round.after.find(isServerError) ?? round.after[0];
    if (shown) evidence.push(`${describeProbe(shown)} after ${idle} idle`);
  }
  if (broken.length > 0) {
    if (errorLine) evidence.push(errorLine);
    const first = broken[0]!;
    const status = first.after.find(isServerError)!;
    const more = broken.length > 1 ? ` (and ${broken.length - 1} more endpoint${broken.length > 2 ? "s" : ""})` : "";
    return {
      status: "fail",
      summary: `${style.name} style: GET ${first.path} answered ${status.status || "nothing"} after ${idle} idle, 2xx before${more}: the app reused a connection the pooler had dropped`,
      evidence,
      fix: POOLER_IDLE_DROP_FIX,
    };
  }
  if (elsewhere) {
    evidence.push(`app, for a request the check did not make (Render's health check): ${elsewhere}`);
    return {
      status: "fail",
      summary: `${style.name} style: after ${idle} idle the app reused a connection the pooler had dropped (Render's health check met it before the check's requests did)`,
      evidence,
      fix: POOLER_IDLE_DROP_FIX,
    };
  }
  const paths = rounds.map((r) => r.path);
  const named = paths.length === 0 ? "no endpoint" : `${paths[0]}${paths.length > 1 ? ` and ${paths.length - 1} more` : ""}`;
  return {
    status: "pass",
    summary:
      openBefore === 0
        ? `${style.name} style: ${named} still answered after ${idle} idle; the app held no connection open across it (CONN_MAX_AGE = 0)`
        : `${style.name} style: ${named} still answered after ${idle} idle; the app replaced the dropped connection${openBefore === 1 ? "" : "s"} before use`,
    evidence,
    fix: POOLER_IDLE_DROP_FIX,
  };
}

async function run(context: ScenarioContext): Promise<ScenarioVerdict> {
  const link = context.stack.links.db;
  // The profile's idle toxic, unless someone removed it by name: then this run adds it back for itself.
  let style = idleStyleOf(await link.toxics());
  let added: string | undefined;
  if (!style) {
    style = profileIdleStyle(context.description);
    if (!style) return skip(context.description);
    await link.addToxic({ type: style.toxic.type, name: style.toxic.name, attributes: { ...style.toxic.attributes } });
    added = style.toxic.name;
  }
  try {
    const span = idleSpan(style.afterMs, context.description.app.limits.sleepAfterMs);
    if (typeof span === "string") return { status: "skip", summary: span, evidence: [], fix: POOLER_IDLE_DROP_FIX };

    const warm = await warmEndpoints(context, pathsToExercise(context));
    const paths = databaseEndpoints(warm);
    if (paths.length === 0) {
      return { status: "skip", summary: "no endpoint answered 2xx before the idle span: nothing to compare", evidence: warm.map((w) => describeProbe(w.probe)), fix: POOLER_IDLE_DROP_FIX };
    }
    // A second warm request per endpoint, so more than one worker thread holds a connection.
    const warmed = new Map(warm.map((w) => [w.path, w.probe]));
    for (const path of paths) await context.request(path);
    const openBefore = (await link.connections()).filter((c) => c.state === "open").length;

    const since = Date.now();
    await context.stack.idle(span);
    const rounds: IdleRound[] = [];
    for (const path of paths) {
      // Several requests, up to the first 5xx: gunicorn's threads take turns, and only those
      // that held a connection across the idle span meet the dropped one.
      const after: Probe[] = [];
      while (after.length < AFTER_IDLE_TRIES && !after.some(isServerError)) after.push(await context.request(path));
      rounds.push({ path, warm: warmed.get(path)!, after });
    }
    const failed = rounds.flatMap((r) => r.after.filter(isServerError));
    const errorLine = await awaitErrorEvidence(context, since, failed, DB_ERROR_PATTERNS);
    // A request the check did not make (Render's health check) may have met it first.
    const elsewhere = failed.length === 0 ? matchingLines(await context.appLogsSince(since), DB_ERROR_PATTERNS, 1)[0] : undefined;
    return idleVerdict({ style, idleMs: span, rounds, openBefore, errorLine, elsewhere });
  } finally {
    if (added) await link.removeToxic(added).catch(() => {});
  }
}

function skip(description: StackDescription): ScenarioVerdict {
  return {
    status: "skip",
    summary: `the ${description.database.profile} profile has no pooler that drops idle connections`,
    evidence: [],
    fix: POOLER_IDLE_DROP_FIX,
  };
}

export const poolerIdleDrop: Scenario = {
  id: "pooler-idle-drop",
  title: "pooler idle drop vs CONN_MAX_AGE (Supabase: silent close; Neon: compute suspend, 57P01)",
  applies: (description) =>
    profileIdleStyle(description) ? true : `${description.database.profile} has no pooler idle drop (Render Postgres is reached directly, no pooler in between); run with --db supabase-transaction or --db neon to try one`,
  baseline: "endpoints",
  run,
};
