export type { Probe, Scenario, ScenarioContext, ScenarioResult, ScenarioVerdict } from "./scenario.js";
export { createScenarioContext } from "./context.js";
export { SCENARIOS, findScenario } from "./registry.js";
export { discoverEndpoints, extractLinks, type DiscoveredEndpoints } from "./endpoints.js";
export { runCheck, checkExitCode, checkTotals, selectScenarios, CHECK_PROJECT_SUFFIX, type CheckOptions, type CheckReport, type CheckTotals } from "./runner.js";
export { formatText, type TextOptions } from "./report-text.js";
export { formatJson, toJson, CheckReportJsonSchema, REPORT_VERSION, type CheckReportJson } from "./report-json.js";
export { formatJunit } from "./report-junit.js";
