import { forEachChunk, type StreamToxic } from "../toxic.js";

/** Delays each chunk by `latency` ± `jitter` ms, counted from when it entered the chain. */
export function latencyToxic(attrs: { latency: number; jitter: number }): StreamToxic {
  return {
    pipe: (stub) =>
      forEachChunk(stub, async (chunk) => {
        const delay = attrs.latency + (attrs.jitter > 0 ? (stub.random() * 2 - 1) * attrs.jitter : 0);
        const waited = performance.now() - stub.readAt;
        // Interrupted while holding a chunk: hand it on at once, then stop.
        const slept = await stub.sleep(delay - waited);
        stub.write(chunk);
        return slept;
      }),
  };
}
