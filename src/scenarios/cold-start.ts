import type { StackDescription } from "../config/types.js";
import { describeProbe, matchingLines, pathsToExercise, seconds } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

export const FIX =
  "Make the boot lighter (run migrate and collectstatic in the build, not in the start command), keep the free instance " +
  "awake with a ping every 14 minutes, or choose a paid plan, which never spins down.";

/** What the boot printed that makes a wake slow: migrations on every start. */
const BOOT_WORK = [/Operations to perform:/, /Running migrations:/, /No migrations to apply\./, /Applying \S+\.\d{4}_/, /static files? copied/];

export interface ColdStartFacts {
  readonly probe: Probe;
  readonly clientTimeoutMs: number;
  readonly coldStartDelayMs: number;
  /** When the instance was routed again, counted from the request (null if it never was). */
  readonly readyAfterMs: number | null;
  readonly bootLines: readonly string[];
}

export function coldStartVerdict(facts: ColdStartFacts): ScenarioVerdict {
  const { probe, clientTimeoutMs, coldStartDelayMs, readyAfterMs } = facts;
  const evidence = [`spun down, then ${describeProbe(probe)} (client timeout ${seconds(clientTimeoutMs)})`];
  if (readyAfterMs !== null && probe.status === 0) evidence.push(`the instance was ready ${seconds(readyAfterMs)} after the request`);
  if (coldStartDelayMs > 0) evidence.push(`the wake includes prodlike.yaml coldStartDelay ${seconds(coldStartDelayMs)} on top of the container's boot`);
  for (const line of facts.bootLines) evidence.push(`the boot ran: ${line}`);
  const wakeError = probe.status === 503 && probe.headers["x-render-routing"] === "hibernate-wake-error";
  if (probe.status === 0 || wakeError) {
    return {
      status: "fail",
      summary: wakeError
        ? `the wake from sleep failed: GET ${probe.path} got Render's 503 (x-render-routing: hibernate-wake-error)`
        : `the first request after a spin-down got no answer within the ${seconds(clientTimeoutMs)} client timeout`,
      evidence,
      fix: FIX,
    };
  }
  return {
    status: "pass",
    summary: `the first request after a spin-down was answered in ${seconds(probe.ms)}, within the ${seconds(clientTimeoutMs)} client timeout`,
    evidence,
    fix: FIX,
  };
}

export function coldStartApplies(description: StackDescription): true | string {
  if (description.app.limits.sleepAfterMs === null) {
    return `the ${description.app.plan} plan never spins down (only free web services sleep after 15 idle minutes)`;
  }
  return true;
}

export const coldStart: Scenario = {
  id: "cold-start",
  title: "cold start vs a client timeout",
  applies: coldStartApplies,
  baseline: "endpoints",
  async run(context: ScenarioContext): Promise<ScenarioVerdict> {
    const { description, stack } = context;
    const clientTimeoutMs = description.check.clientTimeoutMs;
    const path = description.app.healthCheckPath ?? pathsToExercise(context)[0]!;
    await stack.sleep();
    const started = performance.now();
    const since = Date.now();
    const probe = await context.request(path, { timeoutMs: clientTimeoutMs });
    // The client gave up, the wake goes on: later scenarios need the instance up again.
    let readyAfterMs: number | null = probe.ms;
    if (probe.status === 0 || probe.status === 503) {
      readyAfterMs = await stack.wake().then(
        () => performance.now() - started,
        () => null,
      );
    }
    return coldStartVerdict({
      probe,
      clientTimeoutMs,
      coldStartDelayMs: description.app.coldStartDelayMs,
      readyAfterMs,
      bootLines: matchingLines(await context.appLogsSince(since), BOOT_WORK, 2),
    });
  },
};
