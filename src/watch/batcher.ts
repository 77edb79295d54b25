import { coalesceChanges, type FileChange } from "./changes.js";

export interface BatcherOptions {
  /** Quiet time that ends a batch. Default 60 ms. */
  readonly quietMs?: number;
  /** Longest a batch may grow while events keep coming (a long `git checkout`). Default 1000 ms. */
  readonly maxWaitMs?: number;
  readonly onBatch: (changes: FileChange[]) => void;
}

/**
 * Collects file events into batches: a batch ends after `quietMs` without events, or
 * `maxWaitMs` after its first event, so a save-all or a checkout becomes one action.
 */
export class ChangeBatcher {
  readonly #quietMs: number;
  readonly #maxWaitMs: number;
  readonly #onBatch: (changes: FileChange[]) => void;
  #events: FileChange[] = [];
  #quiet: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;

  constructor(options: BatcherOptions) {
    this.#quietMs = options.quietMs ?? 60;
    this.#maxWaitMs = Math.max(options.maxWaitMs ?? 1000, this.#quietMs);
    this.#onBatch = options.onBatch;
  }

  get pending(): number {
    return this.#events.length;
  }

  push(change: FileChange): void {
    this.#events.push(change);
    clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => this.flush(), this.#quietMs);
    this.#deadline ??= setTimeout(() => this.flush(), this.#maxWaitMs);
  }

  /** End the current batch now. Events that cancel out (create then delete) make no batch. */
  flush(): void {
    clearTimeout(this.#quiet);
    clearTimeout(this.#deadline);
    this.#quiet = undefined;
    this.#deadline = undefined;
    const changes = coalesceChanges(this.#events);
    this.#events = [];
    if (changes.length > 0) this.#onBatch(changes);
  }

  /** Drop what is pending, without a batch. */
  cancel(): void {
    clearTimeout(this.#quiet);
    clearTimeout(this.#deadline);
    this.#quiet = undefined;
    this.#deadline = undefined;
    this.#events = [];
  }
}
