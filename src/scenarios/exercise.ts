import type { Probe, ScenarioContext } from "./scenario.js";

/** The paths a runtime scenario requests: the context's endpoints, or the front page. */
export function pathsToExercise(context: ScenarioContext): readonly string[] {
  return context.endpoints.length > 0 ? context.endpoints : ["/"];
}

/** GET every path once, one after another (a worker at a time, as a visitor clicks). */
export async function exercise(context: ScenarioContext, options: { timeoutMs?: number; paths?: readonly string[] } = {}): Promise<Probe[]> {
  const probes: Probe[] = [];
  for (const path of options.paths ?? pathsToExercise(context)) {
    // No timeoutMs at all unless asked: the runner's context supplies the client timeout.
    probes.push(await context.request(path, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }));
  }
  return probes;
}

/** No answer, or an answer from the server side's failure (the app's 500, the proxy's 502). */
export function isServerError(probe: Probe): boolean {
  return probe.status === 0 || probe.status >= 500;
}

/** "GET /notes/ → 200 in 120 ms", "GET /x → no answer (ECONNRESET) after 2.0 s". */
export function describeProbe(probe: Probe): string {
  const routing = probe.headers["x-render-routing"] ? ` (x-render-routing: ${probe.headers["x-render-routing"]})` : "";
  if (probe.status === 0) return `GET ${probe.path} → no answer (${probe.error ?? "closed"}) after ${seconds(probe.ms)}`;
  return `GET ${probe.path} → ${probe.status}${routing} in ${seconds(probe.ms)}`;
}

/** 120 → "120 ms", 6200 → "6.2 s". */
export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The app's log lines worth quoting, in order, without repeats: those matching any pattern.
 * A traceback's last line ("redis.exceptions.ResponseError: …") says the most, so it is kept
 * over the frames above it.
 */
export function matchingLines(lines: readonly string[], patterns: readonly RegExp[], max = 3): string[] {
  const found: string[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || found.includes(line)) continue;
    if (/^File "|^\^+$|^Traceback \(most recent call last\)/.test(line)) continue;
    if (patterns.some((pattern) => pattern.test(line))) found.push(line.length > 300 ? `${line.slice(0, 297)}...` : line);
    if (found.length >= max) break;
  }
  return found;
}
