import type { Logger } from "pino";
import { resolveStack, type StackOverrides } from "../config/resolve.js";
import type { StackDescription } from "../config/types.js";
import { removeStack } from "../engine/containers.js";
import { connectEngine } from "../engine/docker.js";
import { isProdlikeError, ProdlikeError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { up, type RunningStack } from "../stack.js";
import { checkAllowedHosts, withBaseline, type HostCheck } from "./baseline.js";
import type { ShellResult } from "./app-shell.js";
import { createScenarioContext } from "./context.js";
import { discoverEndpoints } from "./endpoints.js";
import { SCENARIOS } from "./registry.js";
import type { Scenario, ScenarioContext, ScenarioResult, ScenarioVerdict } from "./scenario.js";

/** The check's stack is a second stack of the folder: its own containers, network and volumes. */
export const CHECK_PROJECT_SUFFIX = "check";
/** A scenario that has not answered by then is stuck: reported as an error, the run goes on. */
const SCENARIO_TIMEOUT_MS = 5 * 60_000;
const WAKE_TIMEOUT_MS = 120_000;
/** Errors of `up` that mean "the app does not build or start", not "the check could not run". */
const APP_FAILURES = new Set(["APP_BUILD_FAILED", "APP_START_FAILED", "NOT_READY"]);

export interface CheckOptions {
  readonly overrides?: StackOverrides;
  readonly logger?: Logger;
  /** Scenario ids to run (default: prodlike.yaml `check.only`, else all). */
  readonly only?: readonly string[];
  /** Scenario ids to leave out, on top of prodlike.yaml `check.skip`. */
  readonly skip?: readonly string[];
  /** The scenarios to choose from (default `SCENARIOS`). */
  readonly scenarios?: readonly Scenario[];
  /** Called as each result is known (progress on a terminal). */
  readonly onResult?: (result: ScenarioResult) => void;
  readonly scenarioTimeoutMs?: number;
  /** Ctrl-C: the scenario running is abandoned, the rest are skipped, the stack is removed. */
  readonly signal?: AbortSignal;
}

export interface CheckReport {
  readonly dir: string;
  readonly project: string;
  readonly service: string;
  readonly publicHost: string;
  readonly plan: string;
  readonly database: string;
  readonly redis: string;
  /** ISO time the check started. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** Time to build and start the stack, or null when it did not start. */
  readonly startupMs: number | null;
  /** Why the app did not start (first lines of the error), or null. */
  readonly startError: string | null;
  readonly endpoints: readonly string[];
  readonly results: readonly ScenarioResult[];
}

export interface CheckTotals {
  readonly passed: number;
  readonly failed: number;
  /** Scenarios not run because the app's endpoints did not answer 2xx/3xx before the fault. */
  readonly baselineFailed: number;
  readonly skipped: number;
  readonly total: number;
}

export function checkTotals(report: Pick<CheckReport, "results">): CheckTotals {
  const count = (status: ScenarioVerdict["status"]) => report.results.filter((r) => r.status === status).length;
  return { passed: count("pass"), failed: count("fail"), baselineFailed: count("baseline-failed"), skipped: count("skip"), total: report.results.length };
}

/**
 * CI's view: 1 when a scenario failed, a scenario's baseline failed (it tested nothing: the
 * app was broken before any fault) or the app did not start; 0 otherwise.
 */
export function checkExitCode(report: CheckReport): number {
  const totals = checkTotals(report);
  return totals.failed > 0 || totals.baselineFailed > 0 || report.startError !== null ? 1 : 0;
}

/**
 * Run the production failure scenarios against the app in `dir`: one stack (its own project
 * name, free ports), endpoints discovered once, each applicable scenario in turn with the
 * links reset and the app awake between them, then the stack and its volumes removed.
 */
export async function runCheck(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const logger = options.logger ?? silentLogger();
  const log = logger.child({ component: "check" });
  const overrides: StackOverrides = { ...options.overrides, httpsPort: 0, httpPort: 0, projectSuffix: CHECK_PROJECT_SUFFIX };
  const description = await resolveStack(dir, overrides);
  const selected = selectScenarios(options.scenarios ?? SCENARIOS, description, options);
  const startedAt = new Date();
  const t0 = performance.now();
  const results: ScenarioResult[] = [];
  const record = (result: ScenarioResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  const base = {
    dir: description.dir,
    project: description.project,
    service: description.app.serviceName,
    publicHost: description.app.publicHost,
    plan: description.app.plan,
    database: description.database.profile,
    redis: description.redis.profile,
    startedAt: startedAt.toISOString(),
  };

  // Scenarios that do not apply are known before anything starts.
  const runnable: Scenario[] = [];
  for (const scenario of selected) {
    const applies = scenario.applies(description);
    if (applies === true) runnable.push(scenario);
    else record(resultOf(scenario, { status: "skip", summary: `does not apply: ${applies}`, evidence: [], fix: "" }, 0));
  }
  if (runnable.length === 0) {
    return { ...base, durationMs: elapsed(t0), startupMs: null, startError: null, endpoints: [], results };
  }

  let stack: RunningStack;
  try {
    log.info({ project: description.project, scenarios: runnable.map((s) => s.id) }, `starting a stack for the check (${description.project})`);
    stack = await up(dir, { logger, overrides });
  } catch (err) {
    // `up` removes what it started but keeps volumes (a user's data); the check's are its own.
    await removeCheckVolumes(description.project, log);
    if (!isProdlikeError(err) || !APP_FAILURES.has(err.code)) throw err;
    const startError = err.message;
    const first = firstLine(startError);
    for (const scenario of runnable) {
      const verdict = explain(scenario, err, description, log) ?? {
        status: "skip" as const,
        summary: `not run: the app did not start: ${first}`,
        evidence: [],
        fix: "",
      };
      record(resultOf(scenario, verdict, 0));
    }
    return { ...base, durationMs: elapsed(t0), startupMs: null, startError, endpoints: [], results: inOrder(results, selected) };
  }

  const startupMs = elapsed(t0);
  let endpoints: readonly string[] = [];
  try {
    const probeContext = contextFor(stack, ["/"], description, log);
    endpoints = (await discoverEndpoints(probeContext.request, description, stack.url)).paths;
    log.info({ endpoints }, "endpoints found");
    const context = contextFor(stack, endpoints, description, log);
    // One look at the app's ALLOWED_HOSTS serves every baseline that met a 400.
    let hostCheck: Promise<ShellResult<HostCheck>> | undefined;
    const askHosts = () => (hostCheck ??= checkAllowedHosts(context));
    for (const scenario of runnable) {
      if (options.signal?.aborted) {
        record(resultOf(scenario, { status: "skip", summary: "not run: the check was interrupted", evidence: [], fix: "" }, 0));
        continue;
      }
      await settle(stack, log);
      record(await runOne(withBaseline(scenario, askHosts), context, options.scenarioTimeoutMs ?? SCENARIO_TIMEOUT_MS, log, options.signal));
    }
  } finally {
    await stack.down({ volumes: true }).catch((err: unknown) => log.warn({ err: String(err) }, "the check's stack was not fully removed"));
  }
  return { ...base, durationMs: elapsed(t0), startupMs, startError: null, endpoints, results: inOrder(results, selected) };
}

/** Results in the registry's order, whatever order they were found in. */
function inOrder(results: readonly ScenarioResult[], selected: readonly Scenario[]): ScenarioResult[] {
  const rank = (id: string) => selected.findIndex((s) => s.id === id);
  return [...results].sort((a, b) => rank(a.id) - rank(b.id));
}

function explain(scenario: Scenario, err: Error, description: StackDescription, log: Logger): ScenarioVerdict | undefined {
  try {
    return scenario.explainStartFailure?.(err, description);
  } catch (explainError) {
    log.warn({ scenario: scenario.id, err: String(explainError) }, "explainStartFailure threw");
    return undefined;
  }
}

async function removeCheckVolumes(project: string, log: Logger): Promise<void> {
  try {
    await removeStack(await connectEngine(), project, { volumes: true });
  } catch (err) {
    log.warn({ err: String(err), project }, "the check's volumes were not removed");
  }
}

/** `only`/`skip` from the flags win over prodlike.yaml's; unknown ids are a usage error. */
export function selectScenarios(
  all: readonly Scenario[],
  description: Pick<StackDescription, "check">,
  options: Pick<CheckOptions, "only" | "skip">,
): Scenario[] {
  const known = new Set(all.map((s) => s.id));
  const only = options.only?.length ? options.only : description.check.only;
  const skip = [...description.check.skip, ...(options.skip ?? [])];
  for (const id of [...only, ...skip]) {
    if (!known.has(id)) {
      throw new ProdlikeError("CONFIG_INVALID", `no scenario "${id}": the scenarios are ${[...known].join(", ")} (\`prodlike check --help\` lists them)`);
    }
  }
  return all.filter((s) => (only.length === 0 || only.includes(s.id)) && !skip.includes(s.id));
}

async function runOne(scenario: Scenario, context: ScenarioContext, timeoutMs: number, log: Logger, signal?: AbortSignal): Promise<ScenarioResult> {
  const started = performance.now();
  log.info({ scenario: scenario.id }, `scenario ${scenario.id}: ${scenario.title}`);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the scenario did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  const interrupted = new Promise<ScenarioVerdict>((resolve) => {
    onAbort = () => resolve({ status: "skip", summary: "interrupted while running", evidence: [], fix: "" });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const verdict = await Promise.race([scenario.run(context), timeout, interrupted]);
    return resultOf(scenario, verdict, elapsed(started));
  } catch (err) {
    log.warn({ scenario: scenario.id, err: String(err) }, "scenario errored");
    const message = err instanceof Error ? err.message : String(err);
    return resultOf(
      scenario,
      {
        status: "fail",
        summary: `the scenario could not run: ${firstLine(message)}`,
        evidence: message.split("\n").slice(0, 10),
        fix: "this is an error of the check itself or of the stack: rerun with --log-level debug, and report it if it persists",
      },
      elapsed(started),
    );
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/** Between scenarios: no toxic left on a link, the app awake and routed. */
async function settle(stack: RunningStack, log: Logger): Promise<void> {
  await stack.links.reset();
  const state = await stack.edgeState();
  if (state === "running") return;
  log.debug({ state }, "waking the app before the next scenario");
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    stack.wake(),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, WAKE_TIMEOUT_MS))),
  ]).catch((err: unknown) => log.warn({ err: String(err) }, "the app did not wake before the next scenario"));
  clearTimeout(timer);
}

/** The scenario context, with prodlike.yaml's client timeout as every request's default. */
function contextFor(stack: RunningStack, endpoints: readonly string[], description: StackDescription, logger: Logger): ScenarioContext {
  const context = createScenarioContext(stack, endpoints, logger);
  const timeoutMs = description.check.clientTimeoutMs;
  return { ...context, request: (path, init = {}) => context.request(path, { timeoutMs, ...init }) };
}

function resultOf(scenario: Scenario, verdict: ScenarioVerdict, durationMs: number): ScenarioResult {
  return { id: scenario.id, title: scenario.title, ...verdict, durationMs };
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}

function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim() !== "")?.trim() ?? text;
}
