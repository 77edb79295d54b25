import { request } from "node:http";
import { connect } from "node:net";
import type { Clock, Timer } from "../clock.js";
import type { BackendTarget } from "./backend.js";

export interface ProbeResult {
  readonly healthy: boolean;
  /** HTTP status of an HTTP probe. */
  readonly status?: number;
  /** Why the probe failed, when it did not get an answer. */
  readonly error?: string;
}

/** Render's health check: GET `path` with the public Host header, 2xx/3xx healthy, `timeoutMs` limit. */
export function probeHttp(target: BackendTarget, path: string, hostHeader: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({
      host: target.host,
      port: target.port,
      path,
      method: "GET",
      agent: false,
      headers: { host: hostHeader, "user-agent": "Render/1.0", "x-forwarded-proto": "https" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on("error", () => undefined);
      resolve({ healthy: status >= 200 && status < 400, status });
    });
    req.on("error", (err) => {
      const timedOut = err.name === "AbortError" || (err as NodeJS.ErrnoException).code === "ABORT_ERR";
      resolve({ healthy: false, error: timedOut ? `no answer within ${timeoutMs} ms` : describe(err) });
    });
    req.end();
  });
}

/** Without a health check path Render only checks that the port accepts a TCP connection. */
export function probeTcp(target: BackendTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => finish({ healthy: false, error: `no connection within ${timeoutMs} ms` }), timeoutMs);
    const finish = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    socket.once("connect", () => finish({ healthy: true }));
    socket.once("error", (err) => finish({ healthy: false, error: describe(err) }));
  });
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}: ${err.message}` : err.message;
}

export interface HealthPolicy {
  /** `null`: TCP probe. */
  readonly path: string | null;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unrouteAfterMs: number;
  readonly restartAfterMs: number;
}

export interface HealthEvent extends ProbeResult {
  /** How long the instance has been failing (consecutive failed probes × interval), 0 when healthy. */
  readonly failingForMs: number;
}

export interface HealthMonitorHooks {
  probe(): Promise<ProbeResult>;
  onResult(event: HealthEvent): void;
  /** Failing for `unrouteAfterMs`. */
  onUnroute(): void;
  /** Healthy again after having been unrouted. */
  onRecover(): void;
  /** Failing for `restartAfterMs`. */
  onRestartDue(): void;
}

/**
 * Probes every `intervalMs` of virtual time; the next probe is armed only once the previous
 * one has answered, so `clock.advance()` never piles probes up and `advance(5s)` three times
 * unroutes deterministically.
 */
export class HealthMonitor {
  readonly #clock: Clock;
  readonly #policy: HealthPolicy;
  readonly #hooks: HealthMonitorHooks;
  #timer: Timer | undefined;
  #failures = 0;
  #unrouted = false;
  #restartRequested = false;
  #generation = 0;

  constructor(clock: Clock, policy: HealthPolicy, hooks: HealthMonitorHooks) {
    this.#clock = clock;
    this.#policy = policy;
    this.#hooks = hooks;
  }

  /** (Re)start probing a fresh instance: failure history is forgotten. */
  start(): void {
    this.stop();
    this.#failures = 0;
    this.#unrouted = false;
    this.#restartRequested = false;
    this.#arm(this.#generation);
  }

  stop(): void {
    this.#generation++;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(generation: number): void {
    this.#timer = this.#clock.setTimer(this.#policy.intervalMs, () => void this.#check(generation));
  }

  async #check(generation: number): Promise<void> {
    const result = await this.#hooks.probe().catch((err: Error) => ({ healthy: false, error: err.message }));
    if (generation !== this.#generation) return;
    if (result.healthy) {
      this.#failures = 0;
      this.#restartRequested = false;
      this.#hooks.onResult({ ...result, failingForMs: 0 });
      if (this.#unrouted) {
        this.#unrouted = false;
        this.#hooks.onRecover();
      }
    } else {
      // Counted in probe periods, not read off the clock: probes are armed after the previous
      // answer, so wall time between them drifts by the probe's latency, and the span must
      // not depend on that. A first failure counts one period, as the last pass was that long ago.
      this.#failures++;
      const failingForMs = this.#failures * this.#policy.intervalMs;
      this.#hooks.onResult({ ...result, failingForMs });
      if (!this.#unrouted && failingForMs >= this.#policy.unrouteAfterMs) {
        this.#unrouted = true;
        this.#hooks.onUnroute();
      }
      if (!this.#restartRequested && failingForMs >= this.#policy.restartAfterMs) {
        this.#restartRequested = true;
        this.#hooks.onRestartDue();
        return; // the restart starts a fresh monitor
      }
    }
    if (generation === this.#generation) this.#arm(generation);
  }
}
