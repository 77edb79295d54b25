import { afterAll, beforeAll } from "vitest";
import { up } from "../api.js";
import { uniqueInstanceName } from "../config/instance.js";
import { ProdlikeError } from "../errors.js";
import type { RunningStack, UpOptions } from "../stack.js";

/** The first start may build images and the app: a generous default for the hooks. */
export const DEFAULT_HOOK_TIMEOUT_MS = 10 * 60_000;

export interface UseStackOptions extends UpOptions {
  /** The Django project's folder (where manage.py is). */
  readonly dir: string;
  /** Keep the database and storage volumes after the file (default false: a test stack leaves nothing). */
  readonly keepVolumes?: boolean;
  /** Time limit of the start and the stop, in ms (default 10 minutes: a cold first run builds images). */
  readonly timeout?: number;
}

/**
 * One stack for the test file, or for the `describe` block it is called in: started in a
 * `beforeAll`, stopped (containers, network and volumes removed) in an `afterAll`.
 *
 * Each call runs its own instance of the folder's stack (`instance`, default
 * `vt<worker>-<random>`) on free ports, so test files in parallel workers, or CI shards on one
 * engine, never share containers, names or ports; images are shared.
 *
 * Returns the stack itself, usable from the tests and from hooks registered after this call;
 * touching it before the stack is up throws.
 *
 * @example
 * const stack = useStack({ dir: "..", overrides: { env: { CONN_HEALTH_CHECKS: "true" } } });
 * it("survives 16 idle minutes", async () => {
 *   await stack.idle("16m");
 *   expect((await stack.fetch("/auth/health/")).status).toBe(200);
 * });
 */
export function useStack(dirOrOptions: string | UseStackOptions): RunningStack {
  const { dir, keepVolumes = false, timeout = DEFAULT_HOOK_TIMEOUT_MS, ...upOptions } = typeof dirOrOptions === "string" ? { dir: dirOrOptions } : dirOrOptions;
  let stack: RunningStack | undefined;
  beforeAll(async () => {
    stack = await up(dir, { ...upOptions, instance: upOptions.instance ?? uniqueInstanceName(`vt${process.env.VITEST_POOL_ID ?? ""}`) });
  }, timeout);
  afterAll(async () => {
    const started = stack;
    stack = undefined;
    await started?.down({ volumes: !keepVolumes });
  }, timeout);
  return lazyStack(dir, () => stack);
}

/**
 * Stands for the stack before it exists: every property is read from the started stack at the
 * moment of use (methods bound to it, as its private fields need).
 */
export function lazyStack(dir: string, current: () => RunningStack | undefined): RunningStack {
  const started = (key: string | symbol): RunningStack | undefined => {
    const stack = current();
    // Symbols (inspection, toStringTag) and `then` (an `await` on the handle) must not throw.
    if (!stack && typeof key === "string" && key !== "then") {
      throw new ProdlikeError(
        "STACK_NOT_FOUND",
        `the stack of ${dir} is not running here (reading "${key}"): use the value useStack() returns inside tests, ` +
          "or in hooks registered after the useStack() call, not at the top level of the file",
      );
    }
    return stack;
  };
  return new Proxy({} as RunningStack, {
    get(_target, key) {
      const stack = started(key);
      if (!stack) return undefined;
      const value: unknown = Reflect.get(stack, key, stack);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(stack) : value;
    },
    has(_target, key) {
      const stack = started(key);
      return stack !== undefined && key in stack;
    },
  });
}
