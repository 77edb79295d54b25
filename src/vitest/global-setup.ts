/**
 * `prodlike/vitest/global-setup`: one stack for a whole vitest run. This entry point must not
 * import vitest's runtime (a globalSetup file runs outside the test workers), so it is apart
 * from `prodlike/vitest`; the tests read the stack with `injectStack()` from there.
 */
import type { TestProject } from "vitest/node";
import { buildImages, up } from "../api.js";
import { uniqueInstanceName } from "../config/instance.js";
import type { HostEnv, UpOptions } from "../stack.js";

/** What the global setup hands to the test files: plain data, as vitest's `provide` requires. */
export interface ProvidedStack {
  /** The docker project name: `<folder>-<hash>-<instance>`. */
  readonly project: string;
  /** The app's HTTPS URL through the edge (certificate from prodlike's CA, `env.PRODLIKE_CA`). */
  readonly url: string;
  readonly httpUrl: string;
  /** Host-side DATABASE_URL, REDIS_URL, CLOUDINARY_URL, S3_*, APP_URL, PRODLIKE_CA. */
  readonly env: HostEnv;
}

declare module "vitest" {
  interface ProvidedContext {
    /** Set by `globalStack()` in a vitest globalSetup file. */
    prodlike: ProvidedStack;
  }
}

export interface GlobalStackOptions extends UpOptions {
  /** The Django project's folder (where manage.py is). */
  readonly dir: string;
  /** Keep the volumes when the run ends (default false). */
  readonly keepVolumes?: boolean;
}

/**
 * A vitest `globalSetup` function: one stack for the whole run (all files, all workers),
 * started before the first test file and removed after the last. The tests read its URLs with
 * `injectStack()`. Faults and the clock stay with this process: tests that idle or add
 * toxics should start their own stack with `useStack()`.
 *
 * @example
 * // test/global-setup.ts, named in vitest.config.ts `test.globalSetup`
 * import { globalStack } from "prodlike/vitest/global-setup";
 * export default globalStack({ dir: "." });
 */
export function globalStack(options: GlobalStackOptions): (project: TestProject) => Promise<() => Promise<void>> {
  const { dir, keepVolumes = false, ...upOptions } = options;
  return async (project) => {
    // The shared images first, once, before the stack (and any per-file stacks) need them.
    await buildImages({ logger: upOptions.logger });
    const stack = await up(dir, { ...upOptions, instance: upOptions.instance ?? uniqueInstanceName("vt-global") });
    project.provide("prodlike", { project: stack.description.project, url: stack.url, httpUrl: stack.httpUrl, env: stack.env });
    return () => stack.down({ volumes: !keepVolumes });
  };
}

