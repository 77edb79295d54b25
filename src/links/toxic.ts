/**
 * The toxic model, after Toxiproxy: a toxic is `{type, name, stream, toxicity, attributes}`.
 * Stream toxics live in a per-connection, per-direction chain and have one behaviour method,
 * `pipe(stub)`, that reads chunks from the stub and writes what should pass on.
 */
export type StreamName = "upstream" | "downstream";

export interface Toxic {
  readonly type: string;
  readonly name: string;
  /** upstream = client → service, downstream = service → client. */
  readonly stream: StreamName;
  /** Probability (0..1), drawn once per connection, that the toxic applies to it. */
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** What `read()` gives when the toxic is being removed: hand on what you hold and return. */
export const INTERRUPTED: unique symbol = Symbol("interrupted");
export type Interrupted = typeof INTERRUPTED;

export interface ToxicStub {
  /** The next chunk, `null` at end of stream (the peer sent FIN), or INTERRUPTED. */
  read(): Promise<Buffer | null | Interrupted>;
  /** When (ms, performance.now()) the chunk last read entered the chain. */
  readonly readAt: number;
  /** Pass a chunk on; `null` passes the end of stream on. */
  write(chunk: Buffer | null): void;
  /** Let go of a chunk that will not be passed on (keeps the chain's flow control right). */
  drop(chunk: Buffer): void;
  /** Wait `ms`; resolves false at once if the toxic is (or gets) interrupted. */
  sleep(ms: number): Promise<boolean>;
  readonly interrupted: boolean;
  /** Close the whole connection (FIN both ways). */
  close(): void;
  /** Reset the whole connection (RST both ways). */
  reset(): void;
  random(): number;
}

export interface StreamToxic {
  /** Returns once it has passed the end of stream on, or promptly once interrupted. */
  pipe(stub: ToxicStub): Promise<void>;
}

/**
 * The loop of most toxics: each chunk read goes to `handle`, until the end of stream (passed on)
 * or an interruption. `handle` returns false when it stopped early (interrupted while it held
 * data, or it closed the connection): the loop ends there.
 */
export async function forEachChunk(stub: ToxicStub, handle: (chunk: Buffer) => boolean | Promise<boolean>): Promise<void> {
  for (;;) {
    const chunk = await stub.read();
    if (chunk === INTERRUPTED) return;
    if (chunk === null) {
      stub.write(null);
      return;
    }
    if (!(await handle(chunk))) return;
  }
}
