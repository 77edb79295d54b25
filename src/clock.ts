/**
 * The one virtual clock. Every idle timer (pooler idle drop, Render sleep, Neon suspend) reads
 * it, so `prodlike idle 16m` can act as if 16 minutes passed: `advance()` moves virtual time
 * forward and fires, in due order, every timer that would have fired in that span.
 * Between advances virtual time runs at real speed.
 */
export interface Timer {
  /** Virtual time (ms) at which it fires. */
  readonly dueAt: number;
  /** Push the deadline to `now() + ms` (activity resets an idle timer). */
  reset(ms?: number): void;
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Run `fn` once `ms` of virtual time have passed. */
  setTimer(ms: number, fn: () => void): Timer;
  /** Move virtual time forward, firing due timers in order. */
  advance(ms: number): Promise<void>;
}

interface Entry {
  dueAt: number;
  delay: number;
  seq: number;
  fn: () => void;
  handle: NodeJS.Timeout | undefined;
  live: boolean;
}

export class VirtualClock implements Clock {
  #offset = 0;
  #seq = 0;
  readonly #entries = new Set<Entry>();
  readonly #realNow: () => number;

  constructor(realNow: () => number = Date.now) {
    this.#realNow = realNow;
  }

  now(): number {
    return this.#realNow() + this.#offset;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry: Entry = { dueAt: 0, delay: ms, seq: 0, fn, handle: undefined, live: true };
    this.#arm(entry, ms);
    const clock = this;
    return {
      get dueAt() {
        return entry.dueAt;
      },
      reset(next = entry.delay) {
        // Revives a fired timer too: an idle timer re-arms on the next activity.
        entry.live = true;
        entry.delay = next;
        clock.#arm(entry, next);
      },
      cancel() {
        clock.#disarm(entry);
      },
    };
  }

  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    const target = this.now() + ms;
    // Fire one at a time: a fired timer may arm new ones that are also due within the span.
    for (;;) {
      const next = [...this.#entries]
        .filter((entry) => entry.dueAt <= target)
        .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
      if (!next) break;
      this.#offset += Math.max(0, next.dueAt - this.now());
      this.#fire(next);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.#offset += Math.max(0, target - this.now());
    for (const entry of this.#entries) this.#rearm(entry);
  }

  #arm(entry: Entry, ms: number): void {
    entry.dueAt = this.now() + ms;
    entry.seq = this.#seq++;
    this.#entries.add(entry);
    this.#rearm(entry);
  }

  #rearm(entry: Entry): void {
    if (entry.handle) clearTimeout(entry.handle);
    const wait = Math.max(0, entry.dueAt - this.now());
    entry.handle = setTimeout(() => this.#fire(entry), wait);
    entry.handle.unref();
  }

  #disarm(entry: Entry): void {
    entry.live = false;
    if (entry.handle) clearTimeout(entry.handle);
    this.#entries.delete(entry);
  }

  #fire(entry: Entry): void {
    if (!entry.live) return;
    this.#disarm(entry);
    entry.fn();
  }
}

/** Parse `16m`, `90s`, `1h30m`, `500ms`, `2d` into milliseconds. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const trimmed = text.trim();
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    total += Number(match[1]) * units[match[2]!]!;
    consumed += match[0].length;
  }
  if (trimmed === "" || consumed !== trimmed.length) {
    throw new RangeError(`"${text}" is not a duration: write e.g. 16m, 90s, 1h30m or 500ms`);
  }
  return total;
}
