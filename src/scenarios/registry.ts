import { allowedHosts } from "./allowed-hosts.js";
import { csrfOrigin } from "./csrf-origin.js";
import type { Scenario } from "./scenario.js";
import { preparedStatements } from "./prepared-statements.js";
import { poolerIdleDrop } from "./pooler-idle-drop.js";
import { maxClientConnections } from "./max-client-connections.js";
import { coldStart } from "./cold-start.js";
import { dataEphemeral } from "./data-ephemeral.js";
import { mediaEphemeral } from "./media-ephemeral.js";
import { memoryLimit } from "./memory-limit.js";
import { redisTls } from "./redis-tls.js";
import { upstashLimit } from "./upstash-limit.js";
import { workerTimeout } from "./worker-timeout.js";
import { sslRedirectLoop } from "./ssl-redirect-loop.js";
import { startCommand } from "./start-command.js";
import { staticFiles } from "./static-files.js";

/**
 * Every production failure scenario, in the order `prodlike check` runs them: cheap HTTP
 * checks first, then the ones that idle, fault a link or restart the app.
 * Add a scenario with one line here.
 */
export const SCENARIOS: readonly Scenario[] = [
  startCommand,
  sslRedirectLoop,
  allowedHosts,
  csrfOrigin,
  staticFiles,
  redisTls,
  upstashLimit,
  // Idle first (a fresh app); the limit burst restarts an app that holds connections, which
  // also clears those the idle drop broke; prepared statements last (a preparing app stays broken).
  poolerIdleDrop,
  maxClientConnections,
  preparedStatements,
  workerTimeout,
  memoryLimit,
  mediaEphemeral,
  dataEphemeral,
  coldStart,
];

/** The scenario with this id, or undefined. */
export function findScenario(id: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.id === id);
}
