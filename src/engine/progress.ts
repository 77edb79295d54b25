import type { Logger } from "pino";
import { hasLiveProgress } from "../logger.js";

/** Time, injected so tests drive it by hand. */
export interface Ticker {
  now(): number;
  /** Call `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

export const realTicker: Ticker = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    // A progress line never keeps the process alive.
    timer.unref();
    return () => clearInterval(timer);
  },
};

export interface ProgressOptions {
  readonly ticker?: Ticker;
  /** Between lines off a terminal (on one, the live line is redrawn every second). */
  readonly everyMs?: number;
  /** After this the reporter stops by itself, in case `done()` is never reached. */
  readonly deadlineMs?: number;
}

/**
 * What a long step (a `go install`, debootstrap, an image build) is doing, while it runs:
 * on a terminal a live line (`<what>  step 3/9  42s  <last output line>`), redrawn every
 * second; otherwise a log line every few seconds. `done()` clears the timer and the live line.
 */
export class Progress {
  readonly #log: Logger;
  readonly #what: string;
  readonly #ticker: Ticker;
  readonly #live: boolean;
  readonly #started: number;
  readonly #deadline: number;
  #stop: (() => void) | undefined;
  #step: string | undefined;
  #last: string | undefined;

  constructor(log: Logger, what: string, options: ProgressOptions = {}) {
    this.#log = log;
    this.#what = what;
    this.#ticker = options.ticker ?? realTicker;
    this.#live = hasLiveProgress(log);
    this.#started = this.#ticker.now();
    this.#deadline = this.#started + (options.deadlineMs ?? 60 * 60_000);
    this.#stop = this.#ticker.every(this.#live ? 1_000 : (options.everyMs ?? 5_000), () => this.#tick());
  }

  /** The latest line of output (blank lines are ignored). */
  line(text: string): void {
    const trimmed = text.trim();
    if (trimmed) this.#last = trimmed;
  }

  /** `n/m` when the work has counted steps (a Dockerfile's). */
  step(step: string): void {
    this.#step = step;
  }

  done(): void {
    if (!this.#stop) return;
    this.#stop();
    this.#stop = undefined;
    if (this.#live) this.#log.info({ live: "clear" }, "");
  }

  #tick(): void {
    if (this.#ticker.now() >= this.#deadline) return this.done();
    const seconds = Math.round((this.#ticker.now() - this.#started) / 1000);
    const facts = { ...(this.#step ? { step: this.#step } : {}), elapsed: `${seconds}s`, ...(this.#last ? { last: this.#last.slice(0, 200) } : {}) };
    this.#log.info(this.#live ? { ...facts, live: true } : facts, `${this.#what}: still running`);
  }
}

/** Run `work` with a Progress that is always cleared, however the work ends. */
export async function withProgress<T>(log: Logger, what: string, work: (progress: Progress) => Promise<T>, options?: ProgressOptions): Promise<T> {
  const progress = new Progress(log, what, options);
  try {
    return await work(progress);
  } finally {
    progress.done();
  }
}
