import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { createScenarioContext } from "../../../src/scenarios/context.js";
import type { Scenario, ScenarioVerdict } from "../../../src/scenarios/scenario.js";
import { silentLogger } from "../../../src/logger.js";
import type { StackOverrides } from "../../../src/config/resolve.js";
import { up, type RunningStack } from "../../../src/stack.js";
import { copyFixture, leftovers } from "../../helpers/cli.js";

export interface ScenarioStack {
  readonly stack: RunningStack;
  /** Run one scenario with these endpoints; logs and keeps its duration. */
  run(scenario: Scenario, endpoints: readonly string[]): Promise<ScenarioVerdict & { durationMs: number }>;
  readonly durations: Record<string, number>;
  dispose(): Promise<void>;
}

/** One stack of a fixture copy (free ports, extra files written first) for several scenarios. */
export async function startScenarioStack(
  fixtureName: string,
  options: { overrides?: StackOverrides; files?: Readonly<Record<string, string>> } = {},
): Promise<ScenarioStack> {
  const fixture = await copyFixture(fixtureName);
  for (const [file, text] of Object.entries(options.files ?? {})) await writeFile(join(fixture.dir, file), text);
  let stack: RunningStack;
  try {
    stack = await up(fixture.dir, { overrides: { httpsPort: 0, httpPort: 0, ...options.overrides } });
  } catch (err) {
    await fixture.dispose();
    throw err;
  }
  const durations: Record<string, number> = {};
  return {
    stack,
    durations,
    async run(scenario, endpoints) {
      const applies = scenario.applies(stack.description);
      expect(applies, `${scenario.id} should apply`).toBe(true);
      const started = performance.now();
      const verdict = await scenario.run(createScenarioContext(stack, endpoints, silentLogger()));
      const durationMs = Math.round(performance.now() - started);
      durations[scenario.id] = durationMs;
      console.log(`[${fixtureName}] ${scenario.id}: ${verdict.status} in ${durationMs} ms — ${verdict.summary}\n  ${verdict.evidence.join("\n  ")}`);
      return { ...verdict, durationMs };
    },
    async dispose() {
      await stack.down({ volumes: true });
      expect(await leftovers(stack.description.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
      await fixture.dispose();
    },
  };
}
