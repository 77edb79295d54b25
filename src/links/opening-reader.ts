import type { Duplex } from "node:stream";
import { ProdlikeError } from "../errors.js";

/**
 * Reads a connection's opening bytes (before forwarding starts) and gives the rest back:
 * `next(parse)` waits until `parse` can make something of the bytes seen so far;
 * `release()` stops reading and returns what was read beyond that.
 */
export class OpeningReader {
  readonly #stream: Duplex;
  #buffer: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #ended: Error | undefined;
  readonly #onData = (chunk: Buffer) => {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    this.#poke();
  };
  readonly #onEnd = () => {
    this.#ended ??= new ProdlikeError("LINK_ERROR", "the client closed the connection during its opening");
    this.#poke();
  };
  readonly #onError = (err: Error) => {
    this.#ended ??= err;
    this.#poke();
  };

  constructor(stream: Duplex) {
    this.#stream = stream;
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onError);
  }

  /** Wait for a value `parse` returns non-null for; consume the bytes it says it used. */
  async next<T>(parse: (buf: Buffer) => { value: T; used: number } | null): Promise<T> {
    for (;;) {
      const result = parse(this.#buffer);
      if (result) {
        this.#buffer = this.#buffer.subarray(result.used);
        return result.value;
      }
      if (this.#ended) throw this.#ended;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Stop reading; the stream is paused; returns unconsumed bytes. */
  release(): Buffer {
    this.#stream.pause();
    this.#stream.off("data", this.#onData);
    this.#stream.off("end", this.#onEnd);
    this.#stream.off("close", this.#onEnd);
    this.#stream.off("error", this.#onError);
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return rest;
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
