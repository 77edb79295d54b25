import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { Clock, Timer } from "../clock.js";
import type { AppBackend, BackendTarget } from "./backend.js";
import { HealthMonitor, probeHttp, probeTcp, type HealthEvent, type HealthPolicy } from "./health-check.js";

/**
 * - `running`: routed to the instance.
 * - `unrouted`: the health check has failed for 15 s; requests are held (see `InstanceGate.acquire`).
 * - `restarting`: failing for 60 s; a fresh instance is being started, requests are held.
 * - `sleeping`: spun down after idling; the next request wakes it.
 * - `waking`: a fresh instance is starting; requests are held and then served in arrival order.
 * - `stopped`: the edge is closed.
 */
export type EdgeState = "running" | "unrouted" | "restarting" | "sleeping" | "waking" | "stopped";

export interface StateChange {
  readonly state: EdgeState;
  readonly previous: EdgeState;
  readonly reason: string;
}

export type HoldFailure = "wake-failed" | "unrouted" | "stopped";

/** A held request could not be routed; the edge turns it into Render's 503. */
export class HoldError extends Error {
  readonly failure: HoldFailure;
  constructor(failure: HoldFailure, message: string) {
    super(message);
    this.name = "HoldError";
    this.failure = failure;
  }
}

export interface InstanceGateOptions {
  readonly backend: AppBackend;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly initialState: "running" | "sleeping";
  readonly sleepAfterMs: number | undefined;
  readonly coldStartDelayMs: number;
  readonly wakeTimeoutMs: number;
  readonly holdTimeoutMs: number;
  readonly health: (HealthPolicy & { readonly hostHeader: string }) | undefined;
  readonly onStateChange: (change: StateChange) => void;
  readonly onHealth: (event: HealthEvent) => void;
  /** The instance went away (sleep, restart): drop pooled connections and open WebSockets. */
  readonly onInstanceGone: () => void;
  /** Longest a sleep waits for requests already at the instance. Default 30 s. */
  readonly drainTimeoutMs?: number;
}

const DRAIN_TIMEOUT_MS = 30_000;

interface Deferred {
  readonly promise: Promise<BackendTarget>;
  resolve(target: BackendTarget): void;
  reject(err: Error): void;
  /** Requests waiting on it; once it resolves they count as on their way to the instance. */
  waiting: number;
  resolved: boolean;
}

function deferred(): Deferred {
  let resolve!: (target: BackendTarget) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<BackendTarget>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // held requests observe it; nobody else has to
  return { promise, resolve, reject, waiting: 0, resolved: false };
}

/** Decides whether a request can go to the instance now, must wait, or gets a 503. */
export class InstanceGate {
  readonly #o: InstanceGateOptions;
  readonly #log: Logger;
  #state: EdgeState;
  #target: BackendTarget | undefined;
  #resolving: Promise<BackendTarget> | undefined;
  #routable: Deferred | undefined;
  #settling: Promise<void> = Promise.resolve();
  #sleepTimer: Timer | undefined;
  #inFlight = 0;
  #held = 0;
  #abort: AbortController | undefined;
  #wake: Promise<void> | undefined;
  readonly #monitor: HealthMonitor | undefined;
  /** Called when no request is on its way to the instance (see `#drained`). */
  #onDrained: (() => void)[] = [];

  constructor(options: InstanceGateOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#state = options.initialState;
    const health = options.health;
    if (health) {
      this.#monitor = new HealthMonitor(options.clock, health, {
        probe: async () => {
          // A running instance the edge has not talked to yet is looked up, as a request would.
          const target = this.#target ?? (this.#state === "running" ? await this.acquire() : undefined);
          if (!target) return { healthy: false, error: "no instance" };
          return health.path === null
            ? probeTcp(target, health.timeoutMs)
            : probeHttp(target, health.path, health.hostHeader, health.timeoutMs);
        },
        onResult: (event) => options.onHealth(event),
        onUnroute: () => {
          if (this.#state !== "running") return;
          this.#routable ??= deferred();
          this.#setState("unrouted", `health check failing for ${Math.round(health.unrouteAfterMs / 1000)} s`);
        },
        onRecover: () => {
          if (this.#state === "unrouted" && this.#target) this.#enterRunning("health check passes again");
        },
        onRestartDue: () => this.#restart(),
      });
    }
    if (this.#state === "running") {
      this.#armSleep();
      this.#monitor?.start();
    }
  }

  get state(): EdgeState {
    return this.#state;
  }

  /** Requests waiting for a wake, a recovery or a restart. */
  get held(): number {
    return this.#held;
  }

  /** The instance's address when requests can go straight to it. */
  get routableTarget(): BackendTarget | undefined {
    return this.#state === "running" ? this.#target : undefined;
  }

  /** Count an inbound request (or WebSocket) as traffic; call the result when it ends. */
  begin(): () => void {
    this.#inFlight++;
    this.touch();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      this.touch();
      this.#checkDrained();
    };
  }

  /** Inbound traffic: the idle timer starts over. */
  touch(): void {
    if (this.#state !== "stopped") this.#sleepTimer?.reset();
  }

  /** Where to send a request; waits while the instance is waking, unrouted or restarting. */
  acquire(): Promise<BackendTarget> {
    switch (this.#state) {
      case "running":
        if (this.#target) return Promise.resolve(this.#target);
        return (this.#resolving ??= this.#resolve());
      case "sleeping":
        void this.#startWake("request while asleep");
        return this.#hold();
      case "waking":
      case "unrouted":
      case "restarting":
        return this.#hold();
      case "stopped":
        return Promise.reject(new HoldError("stopped", "the edge is stopped"));
    }
  }

  /** Spin down now, as after `sleepAfterMs` idle; resolves once the backend has stopped. */
  sleep(reason = "asked to sleep"): Promise<void> {
    if (this.#state === "sleeping" || this.#state === "stopped") return this.#settling;
    if (this.#state === "waking") return (this.#wake ?? Promise.resolve()).then(() => this.sleep(reason));
    this.#monitor?.stop();
    this.#abort?.abort(new Error("going to sleep"));
    this.#target = undefined;
    this.#setState("sleeping", reason);
    // New requests are held from now on (and wake a fresh instance); the ones already on their
    // way to this instance get their answers before it stops.
    const drained = this.#drained();
    this.#settling = this.#settling
      .then(() => drained)
      .then(() => {
        this.#o.onInstanceGone();
        return this.#o.backend.stop();
      })
      .catch((err: Error) => {
        this.#log.error({ err }, "could not stop the app instance");
      });
    if (this.#held > 0) void this.#startWake("requests held across a sleep");
    return this.#settling;
  }

  /** Wake now (as a request would); resolves when routed, rejects with a HoldError if the wake fails. */
  async wake(): Promise<void> {
    if (this.#state === "stopped") throw new HoldError("stopped", "the edge is stopped");
    if (this.#state === "sleeping") void this.#startWake("asked to wake");
    if (this.#state === "running") return;
    // Waits as a held request does, without being one: a sleep does not wait for it.
    await this.#hold({ request: false });
  }

  /**
   * Hold requests while `fn` swaps the instance (a reload or redeploy), as Render holds them
   * during a deploy; then route to wherever the backend now runs. A failing `fn` leaves the
   * old instance routed (the last good version keeps serving) and rethrows.
   */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#state !== "running") return fn();
    this.#routable ??= deferred();
    this.#monitor?.stop();
    const previous = this.#target;
    this.#setState("restarting", "deploying");
    // Read afresh after each await: a stop or sleep may have come in meanwhile.
    const deploying = (): boolean => (this.#state as EdgeState) === "restarting";
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (deploying()) {
        this.#target = previous;
        if (this.#target) this.#enterRunning("deploy failed: the previous version keeps serving");
        else this.#setState("running", "deploy failed");
      }
      throw err;
    }
    if (deploying()) {
      this.#target = await this.#o.backend.ensureRunning(new AbortController().signal);
      this.#enterRunning("deployed");
    }
    return result;
  }

  close(): void {
    if (this.#state === "stopped") return;
    this.#sleepTimer?.cancel();
    this.#monitor?.stop();
    this.#abort?.abort(new Error("the edge is stopping"));
    this.#routable?.reject(new HoldError("stopped", "the edge is stopped"));
    this.#routable = undefined;
    this.#setState("stopped", "edge stopped");
  }

  /**
   * Resolves when every request counted by `begin` is either answered or held (none is on its
   * way to an instance), or after the drain timeout (a request stuck in the app does not keep
   * the instance forever, as Render's 30 s shutdown grace).
   */
  #drained(): Promise<void> {
    if (this.#inFlight <= this.#held) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn({ inFlight: this.#inFlight - this.#held }, "requests still running at the instance after the drain timeout");
        done();
      }, this.#o.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        this.#onDrained = this.#onDrained.filter((waiter) => waiter !== done);
        resolve();
      };
      this.#onDrained.push(done);
    });
  }

  #checkDrained(): void {
    if (this.#onDrained.length === 0 || this.#inFlight > this.#held) return;
    for (const waiter of [...this.#onDrained]) waiter();
  }

  #armSleep(): void {
    const ms = this.#o.sleepAfterMs;
    if (ms === undefined) return;
    this.#sleepTimer ??= this.#o.clock.setTimer(ms, () => this.#idleExpired());
    this.#sleepTimer.reset(ms);
  }

  #idleExpired(): void {
    if (this.#inFlight > 0) {
      this.#sleepTimer?.reset(); // a long request is traffic too
      return;
    }
    if (this.#state !== "running" && this.#state !== "unrouted") return;
    const minutes = (this.#o.sleepAfterMs ?? 0) / 60_000;
    void this.sleep(`no inbound traffic for ${Number.isInteger(minutes) ? `${minutes} min` : `${this.#o.sleepAfterMs} ms`}`);
  }

  async #resolve(): Promise<BackendTarget> {
    try {
      const target = await this.#o.backend.ensureRunning(new AbortController().signal);
      if (this.#state === "running") this.#target = target;
      return target;
    } finally {
      this.#resolving = undefined;
    }
  }

  #hold({ request = true } = {}): Promise<BackendTarget> {
    const routable = (this.#routable ??= deferred());
    const counted = request ? 1 : 0;
    this.#held += counted;
    routable.waiting += counted;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const failure: HoldFailure = this.#state === "waking" || this.#state === "sleeping" ? "wake-failed" : "unrouted";
        reject(new HoldError(failure, `held for ${this.#o.holdTimeoutMs} ms while ${this.#state}`));
      }, this.#o.holdTimeoutMs);
    });
    this.#checkDrained();
    return Promise.race([routable.promise, timeout]).finally(() => {
      clearTimeout(timer);
      // A routed request stopped counting as held when the route opened (see #enterRunning).
      if (routable.resolved) return;
      this.#held -= counted;
      routable.waiting -= counted;
    });
  }

  #startWake(reason: string): Promise<void> {
    if (this.#wake) return this.#wake;
    const routable = (this.#routable ??= deferred());
    const abort = new AbortController();
    this.#abort = abort;
    this.#setState("waking", reason);
    const started = performance.now();
    const { wakeTimeoutMs, coldStartDelayMs, backend } = this.#o;
    const deadline = setTimeout(
      () => abort.abort(new Error(`the instance was not ready within ${wakeTimeoutMs} ms`)),
      wakeTimeoutMs,
    );
    const attempt = (async () => {
      await this.#settling; // the previous instance must be gone before a fresh one starts
      const target = await backend.ensureRunning(abort.signal);
      if (coldStartDelayMs > 0) await delay(coldStartDelayMs, undefined, { signal: abort.signal });
      return target;
    })();
    const aborted = new Promise<never>((_, reject) => {
      abort.signal.addEventListener("abort", () => reject(abort.signal.reason as Error), { once: true });
    });
    const wake = Promise.race([attempt, aborted]).then(
      (target) => {
        if (this.#state !== "waking") return;
        this.#target = target;
        this.#log.info({ wakeMs: Math.round(performance.now() - started) }, "woke up");
        this.#enterRunning("woke up");
      },
      (err: Error) => {
        abort.abort(err);
        if (this.#state === "stopped") return;
        this.#log.warn({ err: err.message, wakeMs: Math.round(performance.now() - started) }, "wake failed");
        if (this.#routable === routable) this.#routable = undefined;
        routable.reject(new HoldError("wake-failed", `wake failed: ${err.message}`));
        this.#setState("sleeping", "wake failed");
        // Whatever the attempt left behind is removed before the next wake starts a fresh one.
        this.#settling = attempt
          .then(
            () => undefined,
            () => undefined,
          )
          .then(() => backend.stop())
          .catch((stopErr: Error) => this.#log.error({ err: stopErr }, "could not stop the app instance"));
      },
    );
    this.#wake = wake.finally(() => {
      clearTimeout(deadline);
      if (this.#abort === abort) this.#abort = undefined;
      this.#wake = undefined;
    });
    return this.#wake;
  }

  #restart(): void {
    if (this.#state !== "running" && this.#state !== "unrouted") return;
    this.#routable ??= deferred();
    this.#target = undefined;
    this.#setState("restarting", "health check failing for too long");
    this.#o.onInstanceGone();
    const abort = new AbortController();
    this.#abort = abort;
    this.#o.backend.restart(abort.signal).then(
      (target) => {
        if (this.#state !== "restarting") return;
        this.#target = target;
        this.#enterRunning("restarted");
      },
      (err: Error) => {
        if (this.#state !== "restarting") return;
        this.#log.error({ err }, "restart failed");
        this.#setState("unrouted", "restart failed");
        this.#monitor?.start(); // fails without an instance, and tries another restart in due time
      },
    );
  }

  #enterRunning(reason: string): void {
    const target = this.#target;
    if (!target) return;
    this.#setState("running", reason);
    const routable = this.#routable;
    this.#routable = undefined;
    if (routable) {
      // From now on they are on their way to this instance: a sleep that follows drains them.
      this.#held -= routable.waiting;
      routable.waiting = 0;
      routable.resolved = true;
      routable.resolve(target);
    }
    this.#monitor?.start();
    this.#armSleep();
  }

  #setState(state: EdgeState, reason: string): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#log.info({ state, previous, reason }, `app instance ${state}`);
    this.#o.onStateChange({ state, previous, reason });
  }
}
