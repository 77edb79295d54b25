export type { AppBackend, BackendTarget } from "./backend.js";
export { createEdge, type Edge, type EdgeEvents, type EdgeOptions, type HealthCheckOptions } from "./edge.js";
export { HoldError, type EdgeState, type StateChange } from "./instance.js";
export type { HealthEvent, ProbeResult } from "./health-check.js";
export { forwardingHeaders, newRndrId, epochMicros, RNDR_ID_PATTERN } from "./headers.js";
export { assertPortFree } from "./listen.js";
