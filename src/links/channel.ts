/** An unbounded in-memory queue of chunks between two stages of a toxic chain. */
export interface Entry {
  chunk: Buffer | null;
  at: number;
}

export class Channel {
  readonly #items: Entry[] = [];
  #head = 0;
  #waiter: ((entry: Entry | undefined) => void) | undefined;

  push(chunk: Buffer | null, at: number = performance.now()): void {
    const entry = { chunk, at };
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter(entry);
      return;
    }
    this.#items.push(entry);
  }

  /** Resolves with the next entry, or undefined if `wake()` is called first. */
  take(): Promise<Entry | undefined> {
    if (this.#head < this.#items.length) {
      const entry = this.#items[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      return Promise.resolve(entry);
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Release a pending `take()` with undefined (used to interrupt a reader). */
  wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
  }

  /** Remove and return everything queued. */
  drain(): Entry[] {
    const rest = this.#items.slice(this.#head);
    this.#items.length = 0;
    this.#head = 0;
    return rest;
  }
}
