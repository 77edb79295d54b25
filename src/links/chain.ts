import { Channel } from "./channel.js";
import { INTERRUPTED, type StreamToxic, type ToxicStub } from "./toxic.js";
import { noopToxic } from "./toxics/noop.js";

/** Where a chain's output goes, and how a toxic acts on the whole connection. */
export interface ChainSink {
  /** A chunk leaving the chain; `null` = end of stream (send FIN). */
  deliver(chunk: Buffer | null): void;
  close(): void;
  reset(): void;
  /** A toxic threw: the connection should be reset and the error logged. */
  fail?(err: unknown): void;
}

interface Target {
  push(chunk: Buffer | null, at: number): void;
}

interface Stage {
  readonly name: string;
  readonly input: Channel;
  output: Target;
  interrupted: boolean;
  readonly sleepers: Set<() => void>;
  done: Promise<void>;
}

/**
 * One direction of one connection: noop first, then the toxics in the order added. Toxics can
 * be added and removed while bytes flow; a removed toxic hands on what it holds and whatever
 * waits in its input moves to its output, so no byte is lost or reordered.
 */
export class ToxicChain {
  readonly #stages: Stage[] = [];
  readonly #sink: ChainSink;
  readonly #random: () => number;
  #ended = false;
  #destroyed = false;
  /** Bytes pushed in and not yet delivered or dropped: the caller's flow control reads it. */
  buffered = 0;
  onDrained: (() => void) | undefined;

  constructor(sink: ChainSink, options: { random?: () => number } = {}) {
    this.#sink = sink;
    this.#random = options.random ?? Math.random;
    const out: Target = {
      push: (chunk) => this.#deliver(chunk),
    };
    this.#start("noop", noopToxic(), out);
  }

  get names(): string[] {
    return this.#stages.slice(1).map((stage) => stage.name);
  }

  push(chunk: Buffer | null): void {
    if (this.#destroyed) return;
    // Only the noop and nothing in flight: hand the bytes on now. Nothing can overtake them (no
    // byte waits in the chain), and a toxic added later sees the next chunk; this spares every
    // chunk of a healthy connection two promise turns.
    if (chunk !== null && this.#stages.length === 1 && this.buffered === 0) {
      if (!this.#ended) this.#sink.deliver(chunk);
      return;
    }
    if (chunk) this.buffered += chunk.length;
    this.#stages[0]!.input.push(chunk);
  }

  has(name: string): boolean {
    return this.#stages.some((stage, i) => i > 0 && stage.name === name);
  }

  add(name: string, toxic: StreamToxic): void {
    if (this.#destroyed) return;
    const last = this.#stages.at(-1)!;
    const stage = this.#start(name, toxic, last.output);
    last.output = stage.input;
  }

  async remove(name: string): Promise<void> {
    const stage = this.#stages.find((s, i) => i > 0 && s.name === name);
    if (!stage) return;
    this.#interrupt(stage);
    await stage.done;
    const index = this.#stages.indexOf(stage);
    if (index < 0) return;
    for (const entry of stage.input.drain()) stage.output.push(entry.chunk, entry.at);
    this.#stages[index - 1]!.output = stage.output;
    this.#stages.splice(index, 1);
  }

  /** Stop every toxic and drop whatever is buffered (the connection is going away). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const stage of this.#stages) this.#interrupt(stage);
  }

  #start(name: string, toxic: StreamToxic, output: Target): Stage {
    const stage: Stage = {
      name,
      input: new Channel(),
      output,
      interrupted: false,
      sleepers: new Set(),
      done: Promise.resolve(),
    };
    const chain = this;
    let readAt = performance.now();
    const stub: ToxicStub = {
      async read() {
        if (stage.interrupted) return INTERRUPTED;
        const entry = await stage.input.take();
        if (!entry) return INTERRUPTED;
        readAt = entry.at;
        return entry.chunk;
      },
      get readAt() {
        return readAt;
      },
      write(chunk) {
        stage.output.push(chunk, readAt);
      },
      drop(chunk) {
        chain.#release(chunk.length);
      },
      sleep(ms) {
        if (stage.interrupted) return Promise.resolve(false);
        if (ms <= 0) return Promise.resolve(true);
        return new Promise<boolean>((resolve) => {
          const wake = () => {
            clearTimeout(handle);
            stage.sleepers.delete(wake);
            resolve(false);
          };
          const handle = setTimeout(() => {
            stage.sleepers.delete(wake);
            resolve(true);
          }, ms);
          stage.sleepers.add(wake);
        });
      },
      get interrupted() {
        return stage.interrupted;
      },
      close: () => {
        if (!this.#destroyed) this.#sink.close();
      },
      reset: () => {
        if (!this.#destroyed) this.#sink.reset();
      },
      random: this.#random,
    };
    stage.done = toxic.pipe(stub).catch((err: unknown) => {
      if (this.#destroyed) return;
      if (this.#sink.fail) this.#sink.fail(err);
      else this.#sink.reset();
    });
    this.#stages.push(stage);
    return stage;
  }

  #interrupt(stage: Stage): void {
    stage.interrupted = true;
    stage.input.wake();
    for (const wake of [...stage.sleepers]) wake();
  }

  #deliver(chunk: Buffer | null): void {
    if (this.#destroyed || this.#ended) return;
    if (chunk === null) {
      this.#ended = true;
      this.#sink.deliver(null);
      return;
    }
    this.#sink.deliver(chunk);
    this.#release(chunk.length);
  }

  #release(bytes: number): void {
    this.buffered -= bytes;
    this.onDrained?.();
  }
}
