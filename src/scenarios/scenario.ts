import type { Logger } from "pino";
import type { StackDescription } from "../config/types.js";
import type { RunningStack } from "../stack.js";

/**
 * One production failure scenario: a small module that drives the running stack the way
 * production would (idle, a fault on a link, a wake), looks at what the app did, and says
 * whether the app survives it. Every scenario has this shape; `SCENARIOS` lists them.
 */
export interface Scenario {
  /** kebab-case, stable: used by `--only`, in JSON and as the JUnit test case name. */
  readonly id: string;
  /** One line a user reads in the report: what production does to the app. */
  readonly title: string;
  /**
   * Whether the scenario means anything for this stack (e.g. the Neon style only for a Neon
   * profile). A string is the reason it does not, reported as "skipped".
   */
  applies(description: StackDescription): true | string;
  run(context: ScenarioContext): Promise<ScenarioVerdict>;
  /**
   * When the stack could not start at all (`up` threw, e.g. "gunicorn: command not found"),
   * a scenario that explains such a failure returns its verdict from the error; the others
   * leave this out and are reported as not run.
   */
  explainStartFailure?(error: Error, description: StackDescription): ScenarioVerdict | undefined;
  /**
   * "endpoints": the scenario drives the app's endpoints, so it means something only if they
   * answer 2xx/3xx before its fault goes in. The runner requests them first: those that do are
   * the scenario's endpoints; when none does, the scenario is not run and its verdict is
   * "baseline-failed", with the answers and the reason. Scenarios that diagnose the baseline
   * itself (a 400 for the Host, a redirect loop) leave this out and judge their own probes.
   */
  readonly baseline?: "endpoints";
}

/**
 * pass and fail are what the scenario found; skip: it does not apply or could not be asked;
 * baseline-failed: the app was already broken before the fault went in (every endpoint
 * answered 4xx/5xx or nothing), so the scenario tested nothing.
 */
export type ScenarioStatus = "pass" | "fail" | "skip" | "baseline-failed";

/** What a scenario found. `evidence` is what a user needs to believe it: status codes, log lines. */
export interface ScenarioVerdict {
  readonly status: ScenarioStatus;
  /** One sentence: what happened ("GET /auth/health/ answered 500 after 11 min idle"). */
  readonly summary: string;
  /** Facts, one per line: "GET /notes/ → 200 (warm)", "GET /notes/ → 500 after idle 11m", the app's error line. */
  readonly evidence: readonly string[];
  /** The fix in one sentence, for a failure (also shown for a pass, as what keeps it passing). */
  readonly fix: string;
}

/** A scenario's verdict with who it was and how long it took. */
export interface ScenarioResult extends ScenarioVerdict {
  readonly id: string;
  readonly title: string;
  readonly durationMs: number;
}

/** What a scenario gets: the stack, the app's endpoints, and helpers that leave evidence. */
export interface ScenarioContext {
  readonly stack: RunningStack;
  readonly description: StackDescription;
  /** Same-site paths to exercise: the health path, prodlike.yaml `check.paths`, the front page's links. */
  readonly endpoints: readonly string[];
  readonly logger: Logger;
  /**
   * GET (or `init.method`) a path through the edge without following redirects; never throws
   * for HTTP errors or timeouts: a timeout or a reset is `status: 0` with `error` set.
   */
  request(path: string, init?: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }): Promise<Probe>;
  /**
   * The app's log lines printed since `since` (epoch ms), across containers, once what it
   * printed before this call has come through Docker's log stream.
   */
  appLogsSince(since: number): Promise<string[]>;
}

/** One request's outcome, ready to be quoted as evidence. */
export interface Probe {
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Set when no HTTP answer came: "timeout after 10000 ms", "ECONNRESET". */
  readonly error?: string;
}
