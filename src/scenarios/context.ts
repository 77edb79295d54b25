import type { Logger } from "pino";
import type { RunningStack } from "../stack.js";
import type { Probe, ScenarioContext } from "./scenario.js";

/** Answers longer than this are cut in evidence and memory: a scenario wants the first lines. */
const BODY_LIMIT = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;

/** The context every scenario gets for one running stack. */
export function createScenarioContext(stack: RunningStack, endpoints: readonly string[], logger: Logger): ScenarioContext {
  return {
    stack,
    description: stack.description,
    endpoints,
    logger,
    appLogsSince: async (since) => {
      await stack.app.flushLogs();
      return (await stack.app.logs({ since })).map((entry) => entry.line);
    },
    request: async (path, init = {}) => {
      const started = performance.now();
      const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const elapsed = () => Math.round(performance.now() - started);
      try {
        const response = await stack.fetch(path, {
          method: init.method ?? "GET",
          headers: init.headers,
          body: init.body,
          redirect: "manual",
          signal: AbortSignal.timeout(timeoutMs),
        });
        const body = (await response.text()).slice(0, BODY_LIMIT);
        return { path, status: response.status, ms: elapsed(), headers: Object.fromEntries(response.headers), body } satisfies Probe;
      } catch (err) {
        const error = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : describeError(err);
        return { path, status: 0, ms: elapsed(), headers: {}, body: "", error } satisfies Probe;
      }
    },
  };
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? err.message;
}
