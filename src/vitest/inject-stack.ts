import { readFileSync } from "node:fs";
import { Agent, fetch as undiciFetch, type RequestInit, type Response } from "undici";
import { inject } from "vitest";
import { ProdlikeError } from "../errors.js";
import type { ProvidedStack } from "./global-setup.js";

export interface InjectedStack extends ProvidedStack {
  /** A request through the edge (HTTPS, trusting prodlike's CA); `path` relative to `url`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

let agent: Agent | undefined;

/** In a test file: the stack `globalStack()` started, with a `fetch` through its edge. */
export function injectStack(): InjectedStack {
  const provided = inject("prodlike");
  if (!provided) {
    throw new ProdlikeError(
      "STACK_NOT_FOUND",
      'no stack was provided to this test run: add a globalSetup file that exports `globalStack({ dir })` from "prodlike/vitest/global-setup" to test.globalSetup in vitest.config',
    );
  }
  return {
    ...provided,
    fetch: (path, init = {}) => {
      agent ??= new Agent({ connect: { ca: readFileSync(provided.env.PRODLIKE_CA!, "utf8") } });
      return undiciFetch(new URL(path, provided.url), { dispatcher: agent, ...init });
    },
  };
}
