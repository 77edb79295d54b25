/** Where the app instance listens, as seen from the prodlike process. */
export interface BackendTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * The app instance behind the edge. The stack implements it with containers; the edge only
 * decides when to call it. Each call may take long (a container start, a gunicorn boot).
 */
export interface AppBackend {
  /**
   * Resolve where the instance listens, starting a fresh one first if none runs (after a
   * sleep). Resolve only once it is ready to serve. `signal` aborts when the edge gives up
   * waiting (wake timeout); the edge calls `stop()` once this call has settled.
   */
  ensureRunning(signal: AbortSignal): Promise<BackendTarget>;
  /** Stop and remove the instance (spin down). Resolves when it is gone. */
  stop(): Promise<void>;
  /** Replace an unhealthy instance with a fresh one; resolves when the new one is ready. */
  restart(signal: AbortSignal): Promise<BackendTarget>;
}
